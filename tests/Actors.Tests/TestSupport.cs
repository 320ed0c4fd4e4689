using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// A TestKit on Akka's TestScheduler: virtual time that moves only when a test advances it, one tick at a time.
/// </summary>
public abstract class VirtualTimeTestKit : Akka.TestKit.Xunit2.TestKit
{
    protected const string TestSchedulerConfig = """
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = DEBUG
        """;

    protected VirtualTimeTestKit(ITestOutputHelper? output = null, string extraConfig = "")
        : base(ConfigurationFactory.ParseString(extraConfig).WithFallback(TestSchedulerConfig), output: output)
    {
    }

    protected TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>Settings from <paramref name="hocon"/> over reference.conf.</summary>
    protected static PeriodicTaskSettings Settings(string hocon = "") =>
        PeriodicTaskSettings.Create(ConfigurationFactory.ParseString(hocon));

    /// <summary>Starts a manager with its ticker and waits until tick 0 is processed (so the ticker's timer is armed).</summary>
    protected async Task<IActorRef> StartManager(PeriodicTaskSet set, string hocon = "")
    {
        var manager = Sys.ActorOf(PeriodicTasks.Props(set, Settings(hocon)), PeriodicTasks.ActorName(set.Name));
        await manager.Ask<Ticked>(new NotifyWhenTicked(0), RemainingOrDefault);
        return manager;
    }

    /// <summary>Starts a manager without a ticker and sends it tick 0: the test sends the other ticks itself.</summary>
    protected IActorRef ManualManager(PeriodicTaskSet set, string hocon = "")
    {
        var manager = Sys.ActorOf(PeriodicTasks.Props(set, Settings(hocon), withTicker: false));
        manager.Tell(new Tick(0));
        return manager;
    }

    /// <summary>Advances virtual time one interval per tick, waiting each time until the manager has dispatched it.</summary>
    protected async Task AdvanceTicks(IActorRef manager, int ticks, TimeSpan interval)
    {
        var report = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance, RemainingOrDefault);
        var tick = report.CurrentTick;
        for (var i = 0; i < ticks; i++)
        {
            Scheduler.Advance(interval);
            await manager.Ask<Ticked>(new NotifyWhenTicked(++tick), RemainingOrDefault);
        }
    }

    /// <summary>Subscribes the test actor to the events of type <typeparamref name="T"/>.</summary>
    protected void Subscribe<T>() where T : PeriodicTaskEvent => Sys.EventStream.Subscribe(TestActor, typeof(T));

    protected static PeriodicTaskOptions EveryTicks(int ticksBetweenRuns) => new() { TicksBetweenRuns = ticksBetweenRuns };

    /// <summary>
    /// A barrier through the runner of <paramref name="task"/>: it answers only after handling every message sent to it
    /// before, so an event it published for them reaches the test actor first (and fails this expectation). A runner that
    /// does not exist answers at once, with no subject.
    /// </summary>
    protected ActorIdentity ThroughRunner(IActorRef manager, string task)
    {
        Sys.ActorSelection(manager.Path / ("task-" + task)).Tell(new Identify(task), TestActor);
        return ExpectMsg<ActorIdentity>();
    }
}

/// <summary>A task body that blocks until released, to hold a run in flight.</summary>
public sealed class Gate : IDisposable
{
    private readonly SemaphoreSlim _release = new(0);

    public async ValueTask Wait(CancellationToken token, bool honourCancellation = true)
    {
        await _release.WaitAsync(honourCancellation ? token : CancellationToken.None).ConfigureAwait(false);
    }

    public void Release(int count = 1) => _release.Release(count);

    public void Dispose() => _release.Dispose();
}

/// <summary>A manager's store child over an in-memory <see cref="IScheduleStore"/>: recovered at once.</summary>
internal sealed class FixedStore(IScheduleStore store) : ReceiveActor
{
    public static Props Props(IScheduleStore store) => Akka.Actor.Props.Create(() => new FixedStore(store));

    protected override void PreStart() => Context.Parent.Tell(new StoreRecovered(store));
}

/// <summary>
/// A manager's collaborator on its own, made and used on the thread of a small actor that stands for the manager (its
/// context and its timers); <c>other</c> gets every other message (a timer's, say).
/// </summary>
internal sealed class CollaboratorHost<T> : ReceiveActor, IWithTimers
{
    public CollaboratorHost(Func<IActorContext, IWithTimers, T> make, Action<T, object>? other = null)
    {
        var collaborator = make(Context, this);
        Receive<Use>(use => Sender.Tell(new Done(use.Action(collaborator))));
        if (other is not null)
            ReceiveAny(message => other(collaborator, message));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Runs <paramref name="use"/> on <paramref name="host"/>'s thread and returns what it returned.</summary>
    public static async Task<TResult> On<TResult>(IActorRef host, Func<T, TResult> use, TimeSpan timeout)
    {
        var done = await host.Ask<Done>(new Use(c => use(c)), timeout);
        return (TResult)done.Value!;
    }

    private sealed record Use(Func<T, object?> Action);

    private sealed record Done(object? Value);
}
