using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Akka.Event;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// What a manager tells the world, on its own: the events, the metrics and nova's log lines of overruns, missed due
/// times, run ends and ticks (docs/semantics.md, "Events, stats and metrics" and "Log lines").
/// </summary>
[Collection("telemetry")] // listeners see every set of the process: these tests run one at a time
public class ManagerTelemetryTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private static readonly DateTimeOffset At = TestTables.Origin;

    private readonly string _set = "tele-" + Guid.NewGuid().ToString("N")[..8];

    private TaskTable Table(params string[] names) =>
        TestTables.Of(names.Aggregate(new PeriodicTaskSet(_set), (set, name) => set.Add(name, _ => { })));

    private ManagerTelemetry Telemetry() => new(_set, Sys.EventStream, Sys.Log);

    /// <summary>The sums of the counters of this test's set, by instrument name, while the returned listener lives.</summary>
    private MeterListener Sums(ConcurrentDictionary<string, double> sums)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == PeriodicTaskMetrics.MeterName)
                    l.EnableMeasurementEvents(instrument);
            },
        };
        void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? set = null, outcome = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "set")
                    set = tag.Value as string;
                else if (tag.Key == "outcome")
                    outcome = tag.Value as string;
            }

            if (set == _set)
                sums.AddOrUpdate(instrument.Name + (outcome is null ? "" : "/" + outcome), value, (_, old) => old + value);
        }

        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        listener.Start();
        return listener;
    }

    [Fact]
    public void An_overrun_is_an_event_a_count_and_novas_warning_naming_both_ticks()
    {
        var sums = new ConcurrentDictionary<string, double>();
        using var _ = Sums(sums);
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskOverrun));
        Sys.EventStream.Subscribe(TestActor, typeof(Warning));
        var task = Table("sync")[0];
        task.Start(new Run(4, At), recordFirst: false);

        Telemetry().Overran(task, new Run(5, At));

        Assert.Equal($"{_set}.sync is due on tick 5 but its run of tick 4 is still in flight: skipped (overrun)", ExpectMsg<Warning>().Message.ToString());
        var overrun = ExpectMsg<PeriodicTaskOverrun>(); // after the line, as the manager writes them
        Assert.Equal((_set, "sync", 5L), (overrun.SetName, overrun.Task, overrun.Tick));
        Assert.Equal(1, sums["actor_scheduler.task.overruns"]);
    }

    [Fact]
    public void Missed_due_times_are_one_event_with_their_count_and_counted()
    {
        var sums = new ConcurrentDictionary<string, double>();
        using var _ = Sums(sums);
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskMissed));

        Telemetry().Missed(Table("sync")[0], 7, At, 3);

        var missed = ExpectMsg<PeriodicTaskMissed>();
        Assert.Equal((7L, 3), (missed.Tick, missed.Count));
        Assert.Equal(3, sums["actor_scheduler.task.missed"]);
    }

    [Fact]
    public void A_run_end_is_counted_by_outcome_with_its_duration_and_leaves_the_runs_in_flight()
    {
        var sums = new ConcurrentDictionary<string, double>();
        using var _ = Sums(sums);
        var telemetry = Telemetry();
        var task = Table("sync")[0];

        telemetry.RunStarted();
        telemetry.RunEnded(task, new RunEnded(0, RunOutcome.TimedOut, TimeSpan.FromSeconds(2)));

        Assert.Equal(1, sums["actor_scheduler.task.runs/timed-out"]);
        Assert.Equal(2.0, sums["actor_scheduler.task.duration"]);
        Assert.Equal(0, sums["actor_scheduler.runs.in_flight"]);
    }

    [Fact]
    public void A_tick_logs_novas_debug_lines_running_for_each_due_task_and_skipping_for_the_others()
    {
        Sys.EventStream.Subscribe(TestActor, typeof(Debug));
        var table = Table("due", "waits");

        Telemetry().LogTick(table, 1, [new DueRun(0, 0)]);

        var lines = new List<string>();
        while (lines.Count < 2)
        {
            var text = ExpectMsg<Debug>().Message.ToString() ?? "";
            if (text.Contains(_set, StringComparison.Ordinal)) // the system's own debug lines pass by
                lines.Add(text);
        }

        Assert.Equal($"Running periodic task {_set}.due", lines[0]);
        Assert.StartsWith($"Skipping {_set}.waits, ", lines[1]);
        Assert.EndsWith(" ticks left until next run", lines[1]);
    }

    [Fact]
    public void A_change_publishes_an_event_per_task_with_its_schedule_and_logs_one_line_with_the_counts()
    {
        var table = Table("new", "changed", "gone");
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskControlEvent));
        Sys.EventStream.Subscribe(TestActor, typeof(Info));

        Telemetry().Changed([table[0]], [table[1]], [table[2]], At);
        var added = FishForMessage<PeriodicTaskAdded>(_ => true);
        Assert.Equal(("new", table[0].Schedule, At), (added.Task, added.Schedule, added.Time));
        Assert.Equal("changed", FishForMessage<PeriodicTaskUpdated>(_ => true).Task);
        Assert.Equal("gone", FishForMessage<PeriodicTaskRemoved>(_ => true).Task);
        FishForMessage<Info>(i => i.Message.ToString() == $"{_set}: tasks changed: 1 added, 1 updated, 1 removed");
    }
}
