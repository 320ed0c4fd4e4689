using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ActorScheduler;

/// <summary>System.Diagnostics.Metrics instruments of meter "ActorScheduler", tagged with set and task.</summary>
public static class PeriodicTaskMetrics
{
    public const string MeterName = "ActorScheduler";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>The duration histogram's explicit bucket boundaries, in seconds.</summary>
    private static readonly double[] DurationBuckets =
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    /// <summary>Runs ended, tagged outcome = succeeded | failed | timed-out | cancelled (by a stop).</summary>
    public static readonly Counter<long> Runs = Meter.CreateCounter<long>("actor_scheduler.task.runs", description: "Runs ended, by outcome");

    public static readonly Counter<long> Overruns = Meter.CreateCounter<long>("actor_scheduler.task.overruns", description: "Due runs skipped because the last run was in flight");

    public static readonly Counter<long> Missed = Meter.CreateCounter<long>("actor_scheduler.task.missed", description: "Due times coalesced into a later run");

    /// <summary>
    /// Run durations in seconds (the OpenTelemetry and Prometheus base unit; Prometheus name
    /// actor_scheduler_task_duration_seconds), with buckets from 5 ms to an hour: periodic work runs from milliseconds
    /// to many minutes.
    /// </summary>
    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("actor_scheduler.task.duration", "s", "Run duration",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });

    /// <summary>Tasks paused now, tagged set.</summary>
    public static readonly UpDownCounter<long> Paused = Meter.CreateUpDownCounter<long>("actor_scheduler.tasks.paused", description: "Tasks paused now");

    /// <summary>Runs in flight now (a run waiting for a retry included), tagged set.</summary>
    public static readonly UpDownCounter<long> InFlight = Meter.CreateUpDownCounter<long>("actor_scheduler.runs.in_flight", description: "Runs in flight now");

    internal static void RunEnded(string set, string task, string outcome, TimeSpan duration)
    {
        if (Runs.Enabled)
            Runs.Add(1, new TagList { { "set", set }, { "task", task }, { "outcome", outcome } });
        if (Duration.Enabled)
            Duration.Record(duration.TotalSeconds, new TagList { { "set", set }, { "task", task } });
    }

    internal static void Count(Counter<long> counter, string set, string task, long value)
    {
        if (counter.Enabled)
            counter.Add(value, new TagList { { "set", set }, { "task", task } });
    }

    internal static void Change(UpDownCounter<long> gauge, string set, long delta)
    {
        if (gauge.Enabled)
            gauge.Add(delta, new KeyValuePair<string, object?>("set", set));
    }
}
