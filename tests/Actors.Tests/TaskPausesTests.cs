using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// A manager's pauses on their own, inside a small host actor that stands for the manager (its timers, on Akka's
/// TestScheduler): pause, pause again, resume, a pause's until time, and a removed task's pause (docs/control.md).
/// </summary>
public class TaskPausesTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private readonly TaskTable _table = TestTables.Of(new PeriodicTaskSet("s").Add("sync", _ => { }));
    private IActorRef? _hostRef;

    private TaskState Sync => _table[0];

    /// <summary>Runs <paramref name="use"/> on the host's thread, with the host's pauses.</summary>
    private Task<T> On<T>(Func<TaskPauses, T> use)
    {
        var table = _table;
        _hostRef ??= Sys.ActorOf(Props.Create(() => new CollaboratorHost<TaskPauses>(
            (context, owner) => new TaskPauses(owner, context.System.Scheduler, StoreLink.None, new ManagerTelemetry("s", context.System.EventStream, context.GetLogger())),
            (pauses, message) => pauses.OnExpired((TaskPauses.Expired)message, table))), "manager");
        return CollaboratorHost<TaskPauses>.On(_hostRef, use, RemainingOrDefault);
    }

    private Task On(Action<TaskPauses> use) => On<object?>(p =>
    {
        use(p);
        return null;
    });

    [Fact]
    public async Task A_pause_and_a_resume_set_the_tasks_pause_and_publish_their_events_and_a_second_resume_does_nothing()
    {
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskControlEvent));
        await On(p => p.Pause(Sync, "db maintenance", until: null));
        Assert.Equal(new TaskPause("db maintenance", null), Sync.Pause);
        var paused = ExpectMsg<PeriodicTaskPaused>();
        Assert.Equal(("sync", "db maintenance", (DateTimeOffset?)null), (paused.Task, paused.Note, paused.Until));

        await On(p => p.Resume(Sync, note: null));
        Assert.Null(Sync.Pause);
        Assert.Null(ExpectMsg<PeriodicTaskResumed>().Note);

        await On(p => p.Resume(Sync, note: null));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_pause_with_an_until_time_resumes_itself_then_with_the_note_expired()
    {
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskResumed));
        await On(p => p.Pause(Sync, null, Scheduler.Now + TimeSpan.FromMinutes(10)));

        Scheduler.Advance(TimeSpan.FromMinutes(9));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("expired", ExpectMsg<PeriodicTaskResumed>().Note);
        Assert.Null(await On(_ => Sync.Pause));
    }

    [Fact]
    public async Task Pausing_again_replaces_the_until_time_and_only_the_new_one_resumes_the_task()
    {
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskResumed));
        await On(p => p.Pause(Sync, "first", Scheduler.Now + TimeSpan.FromMinutes(10)));
        await On(p => p.Pause(Sync, "second", Scheduler.Now + TimeSpan.FromMinutes(20)));
        Assert.Equal("second", Sync.Pause?.Note);

        Scheduler.Advance(TimeSpan.FromMinutes(10));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.NotNull(await On(_ => Sync.Pause));
        Scheduler.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal("expired", ExpectMsg<PeriodicTaskResumed>().Note);
    }

    [Fact]
    public async Task The_expiry_of_an_earlier_pause_does_not_resume_the_current_one()
    {
        var until = Scheduler.Now + TimeSpan.FromMinutes(30);
        await On(p => p.Pause(Sync, null, until));
        await On(p => p.OnExpired(new TaskPauses.Expired(Sync.Index, until - TimeSpan.FromMinutes(1)), _table));
        Assert.NotNull(Sync.Pause);
        await On(p => p.OnExpired(new TaskPauses.Expired(Sync.Index, until), _table));
        Assert.Null(Sync.Pause);
    }

    [Fact]
    public async Task A_forgotten_tasks_pause_never_expires()
    {
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskResumed));
        await On(p => p.Pause(Sync, null, Scheduler.Now + TimeSpan.FromMinutes(1)));
        await On(p => p.Forget(Sync));
        Scheduler.Advance(TimeSpan.FromMinutes(2));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task An_until_time_that_is_not_in_the_future_is_refused_naming_until()
    {
        var error = await On(p => p.CheckUntil(Scheduler.Now));
        Assert.Equal("until", error?.ParamName);
        Assert.Contains("is not in the future", error!.Message);
        Assert.Null(await On(p => p.CheckUntil(Scheduler.Now + TimeSpan.FromSeconds(1))));
        Assert.Null(await On(p => p.CheckUntil(null)));
    }

    [Fact]
    public async Task A_pause_masks_a_due_run_and_those_it_coalesces_until_its_until_time_has_come()
    {
        Assert.False(await On(p => p.Masks(Sync, Scheduler.Now, missed: 0)));

        var until = Scheduler.Now + TimeSpan.FromMinutes(10);
        await On(p => p.Pause(Sync, null, until));
        Assert.True(await On(p => p.Masks(Sync, until - TimeSpan.FromMinutes(1), missed: 2)));
        Assert.Equal(3L, Sync.Counters.SkippedWhilePaused);

        Assert.False(await On(p => p.Masks(Sync, until, missed: 0))); // due at its until time: resumed, and it runs
        Assert.Null(Sync.Pause);
        Assert.Equal(3L, Sync.Counters.SkippedWhilePaused);
    }

    [Fact]
    public async Task Pause_after_failures_counts_failed_and_timed_out_runs_in_a_row_and_a_success_starts_again()
    {
        var table = TestTables.Of(new PeriodicTaskSet("s").Add("flaky", _ => { }, new PeriodicTaskOptions { PauseAfterFailures = 3 }));
        var flaky = table[0];
        await On(p => p.RunEnded(flaky, RunOutcome.Failed, live: true));
        await On(p => p.RunEnded(flaky, RunOutcome.TimedOut, live: true));
        await On(p => p.RunEnded(flaky, RunOutcome.Cancelled, live: true)); // neither a failure nor a success
        Assert.Equal(2, flaky.ConsecutiveFailures);
        await On(p => p.RunEnded(flaky, RunOutcome.Succeeded, live: true));
        Assert.Equal(0, flaky.ConsecutiveFailures);

        await On(p => p.RunEnded(flaky, RunOutcome.Failed, live: false)); // a removed task's run does not count
        Assert.Equal(0, flaky.ConsecutiveFailures);
        for (var i = 0; i < 3; i++)
            await On(p => p.RunEnded(flaky, RunOutcome.Failed, live: true));
        Assert.Equal("paused after 3 consecutive failures", flaky.Pause?.Note);
    }
}
