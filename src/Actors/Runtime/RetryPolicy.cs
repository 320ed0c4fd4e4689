using ActorScheduler.Tasks;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. The retries of a task's options: the backoff after each attempt and the latest a run can end
/// (docs/semantics.md, "Retries and pausing on failure").
/// </summary>
internal static class RetryPolicy
{
    /// <summary>
    /// The wait after failed attempt <paramref name="attempt"/> (1 = the first): retry-backoff, doubled for each attempt
    /// after the first, capped at retry-max-backoff.
    /// </summary>
    public static TimeSpan Backoff(PeriodicTaskOptions options, int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var max = options.RetryMaxBackoff;
        var backoff = Min(options.RetryBackoff, max);
        for (var i = 1; i < attempt && backoff < max; i++)
            backoff = Doubled(backoff, max);
        return backoff;
    }

    /// <summary>
    /// The latest a run started at <paramref name="now"/> can end: every attempt timing out, with its backoffs; null
    /// without a timeout.
    /// </summary>
    public static DateTimeOffset? Deadline(PeriodicTaskOptions options, DateTimeOffset now)
    {
        if (options.Timeout is not { } timeout)
            return null;
        var max = options.RetryMaxBackoff;
        var total = timeout;
        var backoff = Min(options.RetryBackoff, max);
        for (var i = 0; i < options.Retries; i++)
        {
            total += backoff + timeout;
            backoff = Doubled(backoff, max);
        }

        return now + total;
    }

    private static TimeSpan Doubled(TimeSpan backoff, TimeSpan max) => backoff > max - backoff ? max : backoff + backoff;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
