using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>docs/semantics.md, "Retries and pausing on failure": the backoffs and the deadline of a run.</summary>
public class RetryPolicyTests
{
    private static PeriodicTaskOptions Options(int backoffSeconds, int maxBackoffSeconds, int retries = 3, int? timeoutSeconds = null) => new()
    {
        Retries = retries,
        RetryBackoff = TimeSpan.FromSeconds(backoffSeconds),
        RetryMaxBackoff = TimeSpan.FromSeconds(maxBackoffSeconds),
        Timeout = timeoutSeconds is { } t ? TimeSpan.FromSeconds(t) : null,
    };

    [Fact]
    public void The_backoff_is_retry_backoff_after_the_first_attempt_and_doubles_for_each_attempt_after_it()
    {
        var options = Options(10, 600);
        Assert.Equal([10, 20, 40, 80, 160], Enumerable.Range(1, 5).Select(a => RetryPolicy.Backoff(options, a).TotalSeconds));
    }

    [Fact]
    public void The_backoff_is_capped_at_retry_max_backoff()
    {
        var options = Options(10, 15);
        Assert.Equal([10, 15, 15, 15], Enumerable.Range(1, 4).Select(a => RetryPolicy.Backoff(options, a).TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(10), RetryPolicy.Backoff(Options(10, 10), 3));
    }

    [Fact]
    public void The_backoff_of_a_late_attempt_stops_at_the_cap_without_overflowing()
    {
        Assert.Equal(TimeSpan.FromSeconds(600), RetryPolicy.Backoff(Options(10, 600), int.MaxValue));
        var unbounded = Options(10, 10) with { RetryMaxBackoff = TimeSpan.MaxValue };
        Assert.Equal(TimeSpan.MaxValue, RetryPolicy.Backoff(unbounded, 100));
    }

    [Fact]
    public void There_is_no_attempt_zero()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RetryPolicy.Backoff(Options(10, 600), 0));
    }

    [Fact]
    public void The_deadline_covers_every_attempt_timing_out_and_every_backoff_between_them()
    {
        var now = DateTimeOffset.UnixEpoch;
        // 4 attempts of 5 s; backoffs 10 s, 15 s (20 s capped), 15 s.
        Assert.Equal(now + TimeSpan.FromSeconds(4 * 5 + 10 + 15 + 15), RetryPolicy.Deadline(Options(10, 15, retries: 3, timeoutSeconds: 5), now));
        // 3 attempts of 5 s; backoffs 10 s, 20 s.
        Assert.Equal(now + TimeSpan.FromSeconds(3 * 5 + 10 + 20), RetryPolicy.Deadline(Options(10, 600, retries: 2, timeoutSeconds: 5), now));
    }

    [Fact]
    public void Without_retries_the_deadline_is_the_timeout_and_without_a_timeout_there_is_none()
    {
        var now = DateTimeOffset.UnixEpoch;
        Assert.Equal(now + TimeSpan.FromSeconds(5), RetryPolicy.Deadline(Options(10, 600, retries: 0, timeoutSeconds: 5), now));
        Assert.Null(RetryPolicy.Deadline(Options(10, 600), now));
    }
}
