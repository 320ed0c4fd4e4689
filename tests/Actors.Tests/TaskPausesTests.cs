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
}
