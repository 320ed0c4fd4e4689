using ActorScheduler.Tasks;

namespace ActorScheduler.Runtime;

/// <summary>INTERNAL API. Placeholder until the runner's retry policy lands.</summary>
internal static class RetryPolicy
{
    public static DateTimeOffset? Deadline(PeriodicTaskOptions options, DateTimeOffset now)
    {
        if (options.Timeout is not { } timeout)
            return null;
        var total = timeout;
        var backoff = options.RetryBackoff;
        for (var i = 0; i < options.Retries; i++)
        {
            total += backoff + timeout;
            backoff = backoff * 2 < options.RetryMaxBackoff ? backoff * 2 : options.RetryMaxBackoff;
        }

        return now + total;
    }
}
