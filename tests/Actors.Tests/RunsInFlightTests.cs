using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// A manager's runs in flight on their own, inside a small host actor that stands for the manager (its runner children
/// and timers, on Akka's TestScheduler): overlap, a start through a store that records it first (with its timeout),
/// and the one path by which a run ends.
/// </summary>
public class RunsInFlightTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private readonly SemaphoreSlim _bodies = new(0);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IActorRef? _hostRef;
    private TaskTable _table = null!;

    private Run RunOf(long tick) => new(tick, TestTables.Origin + TestTables.Interval * (tick + 1));

    /// <summary>A host with one task "sync" whose body waits for <see cref="_release"/>; the host hands each message it gets to the test actor.</summary>
    private void Host(PeriodicTaskOptions? options = null, IScheduleStore? store = null)
    {
        _table = TestTables.Of(new PeriodicTaskSet("s").Add("sync", async (_, ct) =>
        {
            _bodies.Release();
            await _release.Task.WaitAsync(ct);
        }, options));
        var test = TestActor;
        _hostRef = Sys.ActorOf(Props.Create(() => new CollaboratorHost<RunsInFlight>((context, owner) => Make(context, owner, store),
            (_, message) => test.Tell(message))), "manager");
    }

    private static RunsInFlight Make(IActorContext context, IWithTimers owner, IScheduleStore? store)
    {
        var link = StoreLink.For(store);
        var telemetry = new ManagerTelemetry("s", context.System.EventStream, context.GetLogger());
        var pauses = new TaskPauses(owner, context.System.Scheduler, link, telemetry);
        return new RunsInFlight(new TaskRunners(context, "s", 5), link, history: null, pauses, telemetry, owner, context.System.Scheduler);
    }

    private Task<T> On<T>(Func<RunsInFlight, T> use) => CollaboratorHost<RunsInFlight>.On(_hostRef!, use, RemainingOrDefault);

    private TaskState Sync => _table[0];

    private async Task BodyStarted() => Assert.True(await _bodies.WaitAsync(TimeSpan.FromSeconds(10)), "the body did not start");

    private async Task<bool> BodyStartsWithin(TimeSpan wait) => await _bodies.WaitAsync(wait);

    [Fact]
    public async Task An_offer_to_an_idle_task_starts_its_run_and_the_runners_answer_ends_it_once()
    {
        Host();
        Assert.True(await On(r => r.Offer(Sync, RunOf(0), 0)));
        await BodyStarted();
        Assert.Equal((1, RunState.Running, 1L), (await On(r => r.Count), Sync.State, Sync.Counters.Runs));

        _release.SetResult();
        var ended = ExpectMsg<RunEnded>();
        Assert.Equal(RunOutcome.Succeeded, ended.Outcome);
        Assert.Same(Sync, await On(r => r.End(_table, ended)));
        Assert.Equal((0, RunState.Idle, 1L), (await On(r => r.Count), Sync.State, Sync.Counters.Succeeded));

        Assert.Null(await On(r => r.End(_table, ended))); // an end already counted
        Assert.Equal((0, 1L), (await On(r => r.Count), Sync.Counters.Succeeded));
    }

    [Fact]
    public async Task An_offer_while_a_run_is_in_flight_is_an_overrun_with_overlap_skip()
    {
        Host();
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskOverrun));
        await On(r => r.Offer(Sync, RunOf(0), 0));
        await BodyStarted();

        Assert.False(await On(r => r.Offer(Sync, RunOf(1), 1)));
        Assert.Equal(1, ExpectMsg<PeriodicTaskOverrun>().Tick);
        Assert.Equal((1L, (Run?)null, 1), (Sync.Counters.Overruns, Sync.Pending, await On(r => r.Count)));
        Assert.Equal(1, Sync.LastDispatchTick);
    }

    [Fact]
    public async Task With_overlap_queue_one_run_waits_and_a_second_is_an_overrun()
    {
        Host(new PeriodicTaskOptions { Overlap = OverlapMode.Queue });
        await On(r => r.Offer(Sync, RunOf(0), 0));
        await BodyStarted();

        Assert.True(await On(r => r.Offer(Sync, RunOf(1), 1)));
        Assert.Equal(RunOf(1), Sync.Pending);
        Assert.False(await On(r => r.Offer(Sync, RunOf(2), 2)));
        Assert.Equal((RunOf(1), 1L), (Sync.Pending, Sync.Counters.Overruns));
    }

    [Fact]
    public async Task A_start_the_store_records_first_waits_for_it_then_goes_to_the_runner()
    {
        var store = new RecordingScheduleStore(recordsStartBeforeRun: true);
        Host(store: store);
        await On(r => r.Offer(Sync, RunOf(0), 0));
        Assert.Equal(RunState.RecordingStart, Sync.State);
        Assert.Equal(RunOf(0), Assert.Single(store.Starting).Run);
        Assert.False(await BodyStartsWithin(TimeSpan.FromMilliseconds(200)));

        Assert.Null(await On(r => r.Recorded(_table, new RunStartRecorded(0, RunOf(5)), dispatching: true))); // another run's
        Assert.Equal(RunState.RecordingStart, Sync.State);
        Assert.Null(await On(r => r.Recorded(_table, new RunStartRecorded(0, RunOf(0)), dispatching: true)));
        await BodyStarted();
        Assert.Equal(RunState.Running, Sync.State);
    }

    [Fact]
    public async Task A_start_recorded_once_the_set_stopped_dispatching_does_not_begin()
    {
        Host(store: new RecordingScheduleStore(recordsStartBeforeRun: true));
        await On(r => r.Offer(Sync, RunOf(0), 0));

        Assert.Same(Sync, await On(r => r.Recorded(_table, new RunStartRecorded(0, RunOf(0)), dispatching: false)));
        Assert.False(await BodyStartsWithin(TimeSpan.FromMilliseconds(200)));
        Assert.Same(Sync, await On(r => r.End(_table, new RunEnded(0, RunOutcome.Cancelled, TimeSpan.Zero))));
        Assert.Equal((0, 1L), (await On(r => r.Count), Sync.Counters.Cancelled));
    }

    [Fact]
    public async Task A_start_not_recorded_within_the_timeout_is_given_back_with_a_warning()
    {
        Host(store: new RecordingScheduleStore(recordsStartBeforeRun: true));
        Sys.EventStream.Subscribe(TestActor, typeof(Warning));
        await On(r => r.Offer(Sync, RunOf(0), 0));

        Scheduler.Advance(RunsInFlight.RecordStartTimeout - TimeSpan.FromSeconds(1));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        var timedOut = FishForMessage<RunsInFlight.RecordStartTimedOut>(_ => true);
        Assert.Same(Sync, await On(r => r.TimedOut(_table, timedOut)));
        FishForMessage<Warning>(w => w.Message.ToString()!.Contains("did not record the start of the run of tick 0"));

        await On(r => r.End(_table, new RunEnded(0, RunOutcome.Cancelled, TimeSpan.Zero)));
        Assert.Null(await On(r => r.TimedOut(_table, timedOut))); // that run has ended
        Assert.False(await BodyStartsWithin(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task A_recorded_start_cancels_its_timeout()
    {
        Host(store: new RecordingScheduleStore(recordsStartBeforeRun: true));
        await On(r => r.Offer(Sync, RunOf(0), 0));
        await On(r => r.Recorded(_table, new RunStartRecorded(0, RunOf(0)), dispatching: true));
        await BodyStarted();

        Scheduler.Advance(RunsInFlight.RecordStartTimeout * 2);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task An_end_tells_the_store_and_counts_failures_toward_pause_after_failures()
    {
        var store = new RecordingScheduleStore();
        Host(new PeriodicTaskOptions { PauseAfterFailures = 2 }, store);
        _release.SetResult();
        for (var tick = 0; tick < 2; tick++)
        {
            await On(r => r.Offer(Sync, RunOf(tick), tick));
            await BodyStarted();
            ExpectMsg<RunEnded>(); // the runner's own answer stands for a failure here
            await On(r => r.End(_table, new RunEnded(0, RunOutcome.Failed, TimeSpan.FromSeconds(1))));
        }

        Assert.Equal([RunOutcome.Failed, RunOutcome.Failed], store.Ended.Select(e => e.Run.Outcome));
        Assert.Equal((2L, 2), (Sync.Counters.Failed, Sync.ConsecutiveFailures));
        Assert.Equal("paused after 2 consecutive failures", Sync.Pause?.Note);
    }

    [Fact]
    public async Task A_start_the_store_refuses_is_given_back_with_the_reason_and_its_timeout_is_cancelled()
    {
        Host(store: new RecordingScheduleStore(recordsStartBeforeRun: true));
        Sys.EventStream.Subscribe(TestActor, typeof(Warning));
        await On(r => r.Offer(Sync, RunOf(0), 0));

        Assert.Null(await On(r => r.Refused(_table, new RunStartRefused(0, RunOf(3), "no lease")))); // another run's
        Assert.Same(Sync, await On(r => r.Refused(_table, new RunStartRefused(0, RunOf(0), "this node does not hold the lease L"))));
        FishForMessage<Warning>(w => w.Message.ToString() == "s.sync: the run of tick 0 does not begin: this node does not hold the lease L");
        await On(r => r.End(_table, new RunEnded(0, RunOutcome.Cancelled, TimeSpan.Zero)));

        Scheduler.Advance(RunsInFlight.RecordStartTimeout * 2);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no timeout, no run
        Assert.False(await BodyStartsWithin(TimeSpan.FromMilliseconds(100)));
    }
}
