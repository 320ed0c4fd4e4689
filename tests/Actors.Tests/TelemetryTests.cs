using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>Traces (one span per attempt) and the gauges of paused tasks and runs in flight (docs/semantics.md).</summary>
[Collection("telemetry")] // listeners see every set of the process: these tests run one at a time
public class TelemetryTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    [Fact]
    public async Task Each_attempt_of_a_run_is_a_span_with_its_task_tick_attempt_and_outcome_and_the_body_runs_inside_it()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PeriodicTaskTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        string? seenInBody = null;
        var calls = 0;
        var manager = ManualManager(new PeriodicTaskSet("traced").Add("t", _ =>
        {
            seenInBody = Activity.Current?.OperationName;
            if (Interlocked.Increment(ref calls) == 1)
                throw new InvalidOperationException("first attempt fails");
        }, new PeriodicTaskOptions { TicksBetweenRuns = 100, Retries = 1, RetryBackoff = TimeSpan.FromSeconds(1) }));
        Subscribe<PeriodicTaskEvent>();
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        ExpectMsg<PeriodicTaskStarted>();
        ExpectMsg<PeriodicTaskFailed>();
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        ExpectMsg<PeriodicTaskStarted>();
        ExpectMsg<PeriodicTaskSucceeded>();

        await AwaitAssertAsync(() => Assert.Equal(2, spans.Count(s => s.OperationName == "traced.t")));
        var mine = spans.Where(s => s.OperationName == "traced.t").ToList();
        Assert.Equal(["1", "2"], mine.Select(s => s.GetTagItem("actor_scheduler.attempt")!.ToString()));
        Assert.Equal(["failed", "succeeded"], mine.Select(s => (string)s.GetTagItem("actor_scheduler.outcome")!));
        Assert.Equal((ActivityStatusCode.Error, "first attempt fails"), (mine[0].Status, mine[0].StatusDescription));
        Assert.All(mine, s => Assert.Equal(0L, s.GetTagItem("actor_scheduler.tick")));
        Assert.Equal("traced.t", seenInBody);
    }

    [Fact]
    public async Task The_gauges_count_paused_tasks_and_runs_in_flight_of_a_set()
    {
        var totals = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PeriodicTaskMetrics.MeterName && instrument.Name is "actor_scheduler.tasks.paused" or "actor_scheduler.runs.in_flight")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag is { Key: "set", Value: "gauged" })
                    totals.AddOrUpdate(instrument.Name, value, (_, old) => old + value);
        });
        listener.Start();
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("gauged")
            .Add("slow", (_, token) => gate.Wait(token), EveryTicks(100))
            .Add("other", _ => { }, EveryTicks(100)));
        await manager.Ask<TaskStats>(new PauseTask("other"));
        await manager.Ask<TaskTriggered>(new TriggerTask("slow"));
        Assert.Equal((1L, 1L), (totals["actor_scheduler.tasks.paused"], totals["actor_scheduler.runs.in_flight"]));
        gate.Release();
        await manager.Ask<TaskStats>(new ResumeTask("other"));
        await AwaitAssertAsync(() => Assert.Equal((0L, 0L), (totals["actor_scheduler.tasks.paused"], totals["actor_scheduler.runs.in_flight"])));
    }

    [Fact]
    public async Task The_duration_histogram_records_each_run_in_seconds_with_buckets_in_seconds()
    {
        var recorded = new ConcurrentQueue<double>();
        string? unit = null;
        IReadOnlyList<double>? buckets = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name != PeriodicTaskMetrics.MeterName || instrument.Name != "actor_scheduler.task.duration")
                return;
            unit = instrument.Unit;
            buckets = (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries;
            l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag is { Key: "set", Value: "timed" })
                    recorded.Enqueue(value);
        });
        listener.Start();
        var manager = ManualManager(new PeriodicTaskSet("timed").Add("t", _ => Thread.Sleep(20), EveryTicks(100)));
        Subscribe<PeriodicTaskSucceeded>();
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        var succeeded = ExpectMsg<PeriodicTaskSucceeded>();

        await AwaitAssertAsync(() => Assert.Single(recorded));
        Assert.Equal("s", unit); // the Prometheus exporter names it actor_scheduler_task_duration_seconds
        Assert.Equal(succeeded.Duration.TotalSeconds, recorded.Single(), 9);
        Assert.NotNull(buckets);
        Assert.Contains(1.0, buckets); // one second is a boundary: the boundaries are seconds, not milliseconds
        Assert.True(buckets[0] < 0.1 && buckets[^1] >= 60, $"buckets from {buckets[0]} to {buckets[^1]} s");
    }
}
