using ActorScheduler.Configuration;
using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. A manager's runner children: created on a task's first run (and again after a passivation or an
/// update), stopped when retired, passivated when idle, and found by actor ref in O(1) for supervision.
/// </summary>
internal sealed class TaskRunners(IActorContext context, string setName, long passivateAfterTicks, RunEvents events = RunEvents.All)
{
    /// <summary>A task's runner not dispatched for this long is stopped; its next run creates it again.</summary>
    public static readonly TimeSpan PassivateIdleAfter = TimeSpan.FromMinutes(1);

    private readonly Dictionary<IActorRef, TaskState> _byRef = [];
    private readonly List<TaskState> _live = [];
    private long _lastSweep;

    /// <summary>The runners of a set ticking every <paramref name="interval"/>, passivated after <see cref="PassivateIdleAfter"/>.</summary>
    public TaskRunners(IActorContext context, string setName, TimeSpan interval, RunEvents events)
        : this(context, setName, Math.Max(1, (PassivateIdleAfter.Ticks + interval.Ticks - 1) / interval.Ticks), events)
    {
    }

    /// <summary>Runners alive now.</summary>
    public int Count => _live.Count;

    /// <summary>The task's runner, created when it has none.</summary>
    public IActorRef Of(TaskState task)
    {
        if (task.Child is { } child)
            return child;
        // A stopped runner's name stays taken until it has stopped (and a removed task's runner may still run under it):
        // a new incarnation gets a name of its own.
        var baseName = Name(task.Name);
        string name;
        do
        {
            name = task.Incarnation == 0 ? baseName : $"task~{task.Incarnation + 1}-{baseName["task-".Length..]}";
            task.Incarnation++;
        }
        while (!context.Child(name).IsNobody());

        child = context.ActorOf(TaskRunner.Props(setName, task.Index, task.Definition, events), name);
        task.Child = child;
        _byRef.Add(child, task);
        _live.Add(task);
        return child;
    }

    /// <summary>The task whose runner <paramref name="child"/> is, or null.</summary>
    public TaskState? TaskOf(IActorRef child) => _byRef.GetValueOrDefault(child);

    /// <summary>The runner of an outdated or removed definition: stopped now, or once its run has ended (Retiring).</summary>
    public void Retire(TaskState task)
    {
        if (task.State is RunState.Running or RunState.Retiring)
            task.Retire();
        else
            Stop(task);
    }

    /// <summary>A removed task's runner: its run in flight ends normally without retries, then it stops.</summary>
    public void Remove(TaskState task)
    {
        if (task.State is RunState.Running or RunState.Retiring)
            task.Child?.Tell(DropRetries.Instance);
        Retire(task);
    }

    public void Stop(TaskState task)
    {
        if (task.Child is not { } child)
            return;
        context.Stop(child);
        Forget(task, child);
        _live.Remove(task);
    }

    /// <summary>After tick <paramref name="tick"/>: passivates idle runners every <c>passivateAfterTicks</c> ticks.</summary>
    public void Sweep(long tick)
    {
        if (tick - _lastSweep < passivateAfterTicks)
            return;
        Passivate(tick);
        _lastSweep = tick;
    }

    /// <summary>Stops the runners of tasks not dispatched for <c>passivateAfterTicks</c> ticks and not running; counters stay.</summary>
    public void Passivate(long tick)
    {
        for (var i = _live.Count - 1; i >= 0; i--)
        {
            var task = _live[i];
            if (task.InFlight || tick - task.LastDispatchTick < passivateAfterTicks)
                continue;
            context.Stop(task.Child!);
            Forget(task, task.Child!);
            _live[i] = _live[^1];
            _live.RemoveAt(_live.Count - 1);
        }
    }

    private void Forget(TaskState task, IActorRef child)
    {
        _byRef.Remove(child);
        task.Child = null;
    }

    private static string Name(string task)
    {
        var name = "task-" + task;
        return ActorPath.IsValidPathElement(name) ? name : "task-" + Uri.EscapeDataString(task).Replace('%', '~');
    }
}
