using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ActorScheduler;

/// <summary>System.Diagnostics.Metrics instruments of meter "ActorScheduler", tagged with set and task.</summary>
public static class PeriodicTaskMetrics
{
    public const string MeterName = "ActorScheduler";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Runs ended, tagged outcome = succeeded | failed | timed-out | cancelled (by a stop).</summary>
    public static readonly Counter<long> Runs = Meter.CreateCounter<long>("actor_scheduler.task.runs", description: "Runs ended, by outcome");

    public static readonly Counter<long> Overruns = Meter.CreateCounter<long>("actor_scheduler.task.overruns", description: "Due runs skipped because the last run was in flight");

    public static readonly Counter<long> Missed = Meter.CreateCounter<long>("actor_scheduler.task.missed", description: "Due times coalesced into a later run");

    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("actor_scheduler.task.duration", "ms", "Run duration");

    /// <summary>Tasks paused now, tagged set.</summary>
    public static readonly UpDownCounter<long> Paused = Meter.CreateUpDownCounter<long>("actor_scheduler.tasks.paused", description: "Tasks paused now");

    /// <summary>Runs in flight now (a run waiting for a retry included), tagged set.</summary>
    public static readonly UpDownCounter<long> InFlight = Meter.CreateUpDownCounter<long>("actor_scheduler.runs.in_flight", description: "Runs in flight now");

    internal static void RunEnded(string set, string task, string outcome, TimeSpan duration)
    {
        if (Runs.Enabled)
            Runs.Add(1, new TagList { { "set", set }, { "task", task }, { "outcome", outcome } });
        if (Duration.Enabled)
            Duration.Record(duration.TotalMilliseconds, new TagList { { "set", set }, { "task", task } });
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
