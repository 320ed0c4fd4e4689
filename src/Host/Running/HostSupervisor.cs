using ActorScheduler.Actors;
using Akka.Actor;

namespace ActorScheduler.Host.Running;

/// <summary>
/// The parent of the host's PeriodicTaskManager: where raise-on-error escalation lands. A failure carrying a
/// <see cref="PeriodicTaskFailedException"/> completes <c>failure</c> (so <c>run</c> ends with exit code 1 naming
/// the task) and resumes the manager, which has already stopped dispatching but still answers StopTasks and
/// GetTaskStats for the final summary.
/// </summary>
public sealed class HostSupervisor : ReceiveActor
{
    private readonly Props _managerProps;
    private readonly string _managerName;
    private readonly TaskCompletionSource<Exception> _failure;
    private IActorRef _manager = ActorRefs.Nobody;

    public HostSupervisor(Props managerProps, string managerName, TaskCompletionSource<Exception> failure)
    {
        _managerProps = managerProps;
        _managerName = managerName;
        _failure = failure;
        Receive<GetManager>(_ => Sender.Tell(_manager));
    }

    public static Props Props(Props managerProps, string managerName, TaskCompletionSource<Exception> failure) =>
        Akka.Actor.Props.Create(() => new HostSupervisor(managerProps, managerName, failure));

    protected override void PreStart() => _manager = Context.ActorOf(_managerProps, _managerName);

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(-1, -1, error =>
        {
            _failure.TrySetResult(error);
            return error is PeriodicTaskFailedException ? Directive.Resume : Directive.Stop;
        }, loggingEnabled: false);

    /// <summary>Asks for the manager's IActorRef.</summary>
    public sealed record GetManager
    {
        public static readonly GetManager Instance = new();
    }
}
