using System.Globalization;
using ActorScheduler.Messages;
using Microsoft.AspNetCore.Http;

namespace ActorScheduler.Dashboard;

/// <summary>GET api/tasks/{name}/runs: a page of a task's run history, newest first, and the before of the next (older) page.</summary>
internal sealed record RunsPageView(IReadOnlyList<HistoryRunView> Runs, string? Next)
{
    public static RunsPageView Of(RunsPage page) =>
        new(page.Runs.Select(HistoryRunView.Of).ToList(), page.Next is { } next ? Exact(next) : null);

    /// <summary>
    /// ISO-8601 UTC with milliseconds, or with seven digits for a time between two milliseconds: the next page then
    /// starts exactly after this one (a start rounded to the millisecond would drop or repeat a run).
    /// </summary>
    internal static string Exact(DateTimeOffset time) =>
        time.UtcTicks % TimeSpan.TicksPerMillisecond == 0
            ? EventJson.Iso(time)
            : time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}

/// <summary>One run of a task's history: the fields of a recentRuns entry and its end; Attempt is its last attempt's number.</summary>
internal sealed record HistoryRunView(
    long Tick, int Attempt, string ScheduledAt, string StartedAt, string? EndedAt, long DurationMs, string Outcome, string? Error, string? Node)
{
    public static HistoryRunView Of(PeriodicTaskRun r) => new(
        r.Tick, r.Attempts, EventJson.Iso(r.ScheduledAt), EventJson.Iso(r.StartedAt), r.EndedAt is { } ended ? EventJson.Iso(ended) : null,
        EventJson.Milliseconds(r.Duration), r.Outcome, r.Error, r.Node);
}

/// <summary>GET api/runs/chart: the runs that ended and those that failed or timed out, per bucket; every bucket of the window is there.</summary>
internal sealed record RunChartView(string Window, int StepMinutes, IReadOnlyList<RunBucketView> Buckets);

/// <summary>The runs that ended in the bucket starting at <paramref name="At"/>, and how many of them failed or timed out.</summary>
internal sealed record RunBucketView(string At, long Runs, long Failed);

/// <summary>
/// A window of the chart: the last hour in 60 one-minute buckets, or the last day in 96 fifteen-minute buckets. Buckets
/// start on multiples of the step (UTC); the last one is the one in progress.
/// </summary>
internal sealed record RunChartWindow(string Name, int StepMinutes, int Buckets)
{
    public static readonly RunChartWindow Hour = new("hour", 1, 60);

    public static readonly RunChartWindow Day = new("day", 15, 96);

    private TimeSpan Step => TimeSpan.FromMinutes(StepMinutes);

    /// <summary>The window named by the query's window parameter (hour when there is none).</summary>
    public static RunChartWindow Of(IQueryCollection query)
    {
        var text = query["window"].ToString();
        return text switch
        {
            "" or "hour" => Hour,
            "day" => Day,
            _ => throw new DashboardRequestException(StatusCodes.Status400BadRequest, $"window: '{text}' is not hour or day."),
        };
    }

    /// <summary>The start of the window's first bucket, for a window whose last bucket holds <paramref name="now"/>.</summary>
    public DateTimeOffset First(DateTimeOffset now) =>
        new DateTimeOffset(now.UtcTicks - now.UtcTicks % Step.Ticks, TimeSpan.Zero) - Step * (Buckets - 1);

    /// <summary>The chart of the minutes counted since <paramref name="first"/>, added up per bucket (minutes outside the window are left out).</summary>
    public RunChartView Chart(DateTimeOffset first, RunCountsReport counts)
    {
        var runs = new long[Buckets];
        var failed = new long[Buckets];
        foreach (var minute in counts.Minutes)
        {
            var offset = minute.Minute.UtcTicks - first.UtcTicks;
            if (offset < 0 || offset / Step.Ticks >= Buckets)
                continue;
            runs[offset / Step.Ticks] += minute.Runs;
            failed[offset / Step.Ticks] += minute.Failed;
        }

        var buckets = new RunBucketView[Buckets];
        for (var i = 0; i < Buckets; i++)
            buckets[i] = new RunBucketView(EventJson.Iso(first + Step * i), runs[i], failed[i]);
        return new RunChartView(Name, StepMinutes, buckets);
    }
}
