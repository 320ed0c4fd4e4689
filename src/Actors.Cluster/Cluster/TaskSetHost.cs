using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Runtime;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Cluster;

/// <summary>
/// INTERNAL API. The cluster singleton of a set's cluster tasks, or the sharding entity of one bucket of them: holds the
/// set's manager (with its state store child, if any) and passes messages to it. On <see cref="HandOver"/> it stops the
/// set gracefully, lets the store write its last events (<see cref="FlushState"/>), then stops, so the next owner starts
/// from the final state.
/// </summary>
internal sealed class TaskSetHost : ReceiveActor
{
    private readonly IActorRef _set;
    private readonly bool _persistent;
    private readonly string? _name;

    public TaskSetHost(Props set, bool persistent, string? name)
    {
        _persistent = persistent;
        _name = name;
        _set = Context.ActorOf(set, "manager");
        Receive<HandOver>(_ =>
        {
            Context.GetLogger().Info("{0}: handing over: stopping the task set gracefully", _name ?? Self.Path.Parent.Name);
            _set.Tell(StopTasks.Instance);
            Become(HandingOver);
        });
        ReceiveAny(message => _set.Forward(message));
    }

    /// <summary>Props of a host of <paramref name="set"/>; <paramref name="name"/> names it in the log (default: its parent's name).</summary>
    public static Props Props(Props set, bool persistent, string? name = null) =>
        Akka.Actor.Props.Create(() => new TaskSetHost(set, persistent, name));

    /// <summary>raise-on-error escalates through the host to its own parent, as it would from the manager.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate);

    private void HandingOver()
    {
        Receive<HandOver>(_ => { });
        Receive<TasksStopped>(stopped =>
        {
            if (stopped.StillRunning > 0)
                Context.GetLogger().Warning(
                    "{0}: handed over with {1} runs still in flight; {2}", _name ?? stopped.SetName, stopped.StillRunning,
                    _persistent ? "the next owner holds them until their deadline" : "without a state store the next owner does not know of them");
            _set.Tell(FlushState.Instance); // answered once the store, or without one the cluster's memory, has it
        });
        Receive<StateFlushed>(_ => Context.Stop(Self));
        ReceiveAny(message => _set.Forward(message));
    }
}
