using ActorScheduler.Cluster;
using Akka.Actor;

namespace ActorScheduler.Host.Running;

/// <summary>
/// The parent of the host's task set, where raise-on-error lands: a <see cref="PeriodicTaskFailedException"/> completes
/// the run's failure (exit 1 naming the task) and resumes the halted manager so that it still answers the summary; any
/// other failure of a child stops it and ends the run.
/// </summary>
internal sealed class HostSupervisor : ReceiveActor
{
    private readonly Func<IUntypedActorContext, ClusterTaskSet> _start;
    private readonly TaskCompletionSource<Exception> _failure;
    private ClusterTaskSet? _started;

    public HostSupervisor(Func<IUntypedActorContext, ClusterTaskSet> start, TaskCompletionSource<Exception> failure)
    {
        _start = start;
        _failure = failure;
        Receive<GetTaskSet>(_ => Sender.Tell(_started is null ? new Status.Failure(new InvalidOperationException("the task set did not start")) : _started));
    }

    /// <param name="start">Starts the task set as children of the supervisor (called once, in PreStart).</param>
    /// <param name="failure">Completed with the first failure that reaches the supervisor.</param>
    public static Props Props(Func<IUntypedActorContext, ClusterTaskSet> start, TaskCompletionSource<Exception> failure) =>
        Akka.Actor.Props.Create(() => new HostSupervisor(start, failure));

    protected override void PreStart()
    {
        try
        {
            _started = _start(Context);
        }
        catch (Exception e)
        {
            // A configuration mistake found at start (the plan checks most before): end run with it, do not restart.
            _failure.TrySetResult(e);
        }
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(-1, -1, error =>
        {
            _failure.TrySetResult(error);
            return error is PeriodicTaskFailedException ? Directive.Resume : Directive.Stop;
        }, loggingEnabled: false);

    /// <summary>Asks for the started <see cref="ClusterTaskSet"/> (node-scoped actor and cluster proxies).</summary>
    public sealed record GetTaskSet
    {
        public static readonly GetTaskSet Instance = new();

        private GetTaskSet()
        {
        }
    }
}
