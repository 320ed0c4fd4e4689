using System.Diagnostics;
using System.Runtime.CompilerServices;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Runs a <see cref="TaskRunner"/>'s body on the thread pool and tells the runner when it ends. One
/// instance per runner serves every run (a runner has one body in flight at most), so a run queues no closure and no
/// continuation object.
/// </summary>
internal sealed class BodyInvoker : IThreadPoolWorkItem
{
    private readonly string _setName;
    private readonly PeriodicTaskDefinition _task;
    private readonly IActorRef _runner;
    private readonly ActorSystem _system;
    private readonly ILoggingAdapter _taskLog;
    private readonly Action _onCompleted;
    private Run? _run;
    private int _attempt;
    private Activity? _span;
    private CancellationToken _token;
    private ValueTaskAwaiter _awaiter;

    public BodyInvoker(string setName, PeriodicTaskDefinition task, IActorRef runner, ActorSystem system)
    {
        _setName = setName;
        _task = task;
        _runner = runner;
        _system = system;
        _taskLog = Logging.GetLogger(system, $"{setName}.{task.Name}");
        _onCompleted = OnCompleted;
    }

    public void Start(Run run, int attempt, Activity? span, CancellationToken token)
    {
        _run = run;
        _attempt = attempt;
        _span = span;
        _token = token;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
    }

    public void Execute()
    {
        var run = _run!;
        _run = null;
        var context = new PeriodicTaskContext(_setName, _task.Name, run.Tick, run.ScheduledAt, _system, _taskLog, _token) { Attempt = _attempt };
        ValueTask body;
        var span = _span;
        _span = null;
        if (span is not null)
            Activity.Current = span; // spans the body starts are the run's children
        try
        {
            body = _task.Body(context, _token);
        }
        catch (Exception e)
        {
            _runner.Tell(new BodyEnded(e));
            return;
        }
        finally
        {
            if (span is not null)
                Activity.Current = null;
        }

        if (body.IsCompleted)
        {
            Complete(body.GetAwaiter());
            return;
        }

        _awaiter = body.GetAwaiter();
        _awaiter.UnsafeOnCompleted(_onCompleted);
    }

    private void OnCompleted()
    {
        var awaiter = _awaiter;
        _awaiter = default;
        Complete(awaiter);
    }

    private void Complete(ValueTaskAwaiter awaiter)
    {
        try
        {
            awaiter.GetResult();
        }
        catch (Exception e)
        {
            _runner.Tell(new BodyEnded(e));
            return;
        }

        _runner.Tell(BodyEnded.Success);
    }
}

/// <summary>The body ended, with the exception it threw, if any. Sent by the body's continuation to the runner.</summary>
internal sealed record BodyEnded(Exception? Error)
{
    public static readonly BodyEnded Success = new((Exception?)null);
}
