using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. A manager's runs in flight: overlap (start, queue or overrun), the start of a run (the store told
/// first when it records starts before runs, with a timeout), and the one path by which a run ends. Used from the
/// manager's thread only (docs/architecture.md, "The manager").
/// </summary>
internal sealed class RunsInFlight(
    TaskRunners runners, StoreLink store, RunHistory? history, TaskPauses pauses, ManagerTelemetry telemetry, IWithTimers owner, IScheduler clock)
{
    /// <summary>A cluster run whose start the store has not recorded within this time does not begin (docs/cluster.md).</summary>
    public static readonly TimeSpan RecordStartTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs started and not yet ended.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// Starts the run, or, with a run in flight, queues it (overlap = queue, none pending yet) or counts an overrun;
    /// false for an overrun.
    /// </summary>
    public bool Offer(TaskState task, Run run, long tick)
    {
        task.LastDispatchTick = Math.Max(0, tick);
        if (!task.InFlight)
        {
            Start(task, run);
            return true;
        }

        if (task.Definition.Options.Overlap == OverlapMode.Queue && task.Pending is null)
        {
            task.Pending = run;
            return true;
        }

        task.Counters.Overran();
        telemetry.Overran(task, run);
        return false;
    }

    /// <summary>A trigger: the task runs now as if due on the current tick <paramref name="tick"/>, overlap applying (docs/semantics.md, "Pause, resume and trigger").</summary>
    public TaskTriggered Trigger(TaskState task, long tick)
    {
        var outside = store.Outside(Math.Max(0, tick));
        var now = clock.Now;
        var started = Offer(task, new Run(outside, now), tick);
        telemetry.Triggered(task, now, outside, started);
        return new TaskTriggered(task.Name, outside, started);
    }

    /// <summary>
    /// Offers the <paramref name="due"/> runs of <paramref name="tick"/>, in order: those of the tick share its
    /// <paramref name="tickRun"/>; calendar runs (all of them at a wake, where it is null) carry the wall-clock time of
    /// <paramref name="at"/>, their occurrence when a wake brought them. A paused task's run is masked.
    /// </summary>
    public void OfferDue(TaskTable tasks, List<Scheduling.DueRun> due, long tick, Run? tickRun, TimeSpan at, DateTimeOffset start)
    {
        Run? calendarRun = null;
        Run CalendarRun() => calendarRun ??= new Run(store.Outside(tick), tasks.Schedule.WallAt(at));
        store.TickDispatched(tasks, tick, due, tickRun?.ScheduledAt ?? CalendarRun().ScheduledAt, start);
        telemetry.LogTick(tasks, tick, due, wake: tickRun is null);
        foreach (var run in due)
        {
            var task = tasks[run.Index];
            var order = tickRun is null || tasks.Schedule.IsCalendar(run.Index) ? CalendarRun() : tickRun;
            if (pauses.Masks(task, order.ScheduledAt, run.Missed))
                continue; // the schedule has moved on as usual
            if (run.Missed > 0)
                Missed(task, tick, order.ScheduledAt, run.Missed);
            Offer(task, order, tick);
        }
    }

    /// <summary><paramref name="missed"/> due times of <paramref name="task"/> passed unrun before tick <paramref name="tick"/>: counted and told.</summary>
    public void Missed(TaskState task, long tick, DateTimeOffset scheduledAt, int missed)
    {
        task.Counters.MissedDueTimes(missed);
        telemetry.Missed(task, store.Outside(tick), scheduledAt, missed);
    }

    /// <summary>
    /// Starts a run. A store that records a start before its run (cluster tasks; docs/cluster.md, "Never two runs of one
    /// cluster task") is told first, and the run waits for <see cref="Recorded"/>; other stores are told beside the run.
    /// </summary>
    public void Start(TaskState task, Run run)
    {
        var now = clock.Now;
        task.Start(run, store.RecordsStartBeforeRun);
        task.Counters.Started(now);
        Count++;
        telemetry.RunStarted();
        store.RunStarting(task, run, now);
        if (task.State == RunState.Running)
            runners.Of(task).Tell(run);
        else
            owner.Timers.StartSingleTimer(TimerKey(task), new RecordStartTimedOut(task.Index, run), RecordStartTimeout);
    }

    /// <summary>
    /// The store recorded a start: the run goes to its runner, unless the set is no longer <paramref name="dispatching"/>
    /// or the task was removed meanwhile; then that task is returned, its run to end as cancelled. Null otherwise (also
    /// when that run has already ended).
    /// </summary>
    public TaskState? Recorded(TaskTable tasks, RunStartRecorded recorded, bool dispatching)
    {
        if (Awaiting(tasks, recorded.Index, recorded.Run) is not { } task)
            return null;
        owner.Timers.Cancel(TimerKey(task));
        task.StartRecorded();
        if (!dispatching || !tasks.IsLive(task))
            return task;
        runners.Of(task).Tell(recorded.Run);
        return null;
    }

    /// <summary>The store did not record a start in time: the task whose run must end as cancelled, or null.</summary>
    public TaskState? TimedOut(TaskTable tasks, RecordStartTimedOut timedOut)
    {
        if (Awaiting(tasks, timedOut.Index, timedOut.Run) is not { } task)
            return null;
        telemetry.Log.Warning("{0}.{1}: the state store did not record the start of the run of tick {2} within {3}: the run does not begin",
            tasks.SetName, task.Name, timedOut.Run.Tick, Durations.Format(RecordStartTimeout));
        return task;
    }

    /// <summary>The store refused a start: the task whose run must end as cancelled, or null when that run has already ended.</summary>
    public TaskState? Refused(TaskTable tasks, RunStartRefused refused)
    {
        if (Awaiting(tasks, refused.Index, refused.Run) is not { } task)
            return null;
        owner.Timers.Cancel(TimerKey(task));
        telemetry.Log.Warning("{0}.{1}: the run of tick {2} does not begin: {3}", tasks.SetName, task.Name, refused.Run.Tick, refused.Reason);
        return task;
    }

    /// <summary>
    /// The one path by which a run ends (its runner's answer, a cancelled recorded start, a runner restarted by
    /// supervision): counts it, retires an outdated runner, tells the store or the history and applies pause-after-failures. Returns
    /// the task, or null for an end already counted.
    /// </summary>
    public TaskState? End(TaskTable tasks, RunEnded ended)
    {
        var task = tasks[ended.Index];
        if (!task.InFlight)
            return null;
        if (task.End())
            runners.Stop(task);
        Count--;
        task.Counters.Ended(ended.Outcome, ended.Duration, ended.Attempts);
        telemetry.RunEnded(task, ended);
        store.RunEnded(task, ended, clock);
        history?.Record(task, ended, clock.Now);
        pauses.RunEnded(task, ended.Outcome, tasks.IsLive(task));
        return task;
    }

    private static TaskState? Awaiting(TaskTable tasks, int index, Run run) =>
        tasks[index] is { State: RunState.RecordingStart } task && Equals(task.CurrentRun, run) ? task : null;

    private static string TimerKey(TaskState task) => "record-" + task.Index;

    /// <summary>The timer's message: the start of <paramref name="Run"/> was not recorded in time.</summary>
    internal sealed record RecordStartTimedOut(int Index, Run Run);
}
