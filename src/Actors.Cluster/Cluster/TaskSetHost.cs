using ActorScheduler.Actors;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using Akka.Actor;

namespace ActorScheduler.Cluster;

/// <summary>
/// The cluster singleton of cluster-scoped tasks when actor-scheduler.state.store = none: the manager as its child,
/// every message forwarded to it, and <see cref="HandOver"/> answered by a graceful stop (runs in flight cancelled and
/// awaited up to shutdown-timeout) before the singleton moves. Nothing is saved: the next owner starts fresh.
/// </summary>
public sealed class TaskSetHost : ReceiveActor
{
    private readonly IActorRef _manager;
    private bool _handingOver;

    public TaskSetHost(string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker)
    {
        _manager = Context.ActorOf(PeriodicTaskManager.Props(setName, tasks, settings, withTicker, null), "manager");
        Receive<HandOver>(_ =>
        {
            if (_handingOver)
                return;
            _handingOver = true;
            _manager.Tell(StopTasks.Instance, Self);
        });
        Receive<TasksStopped>(_ =>
        {
            if (_handingOver)
                Context.Stop(Self);
        });
        ReceiveAny(message => _manager.Forward(message));
    }

    public static Props Props(string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker = true) =>
        Akka.Actor.Props.Create(() => new TaskSetHost(setName, tasks, settings, withTicker));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);
}
