using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. A manager's link to its <see cref="IScheduleStore"/>: what it restores, and the places, starts, ends and
/// pauses it reports. Without a store, <see cref="None"/> does nothing. Tick numbers are translated here only: inside a
/// manager ticks count from 0; outside (events, stats, a store) they continue from the store's tick base.
/// </summary>
internal class StoreLink
{
    /// <summary>The link of a manager without a store.</summary>
    public static readonly StoreLink None = new(0);

    private StoreLink(long tickBase)
    {
        TickBase = tickBase;
    }

    /// <summary>The number the manager's tick 0 has outside.</summary>
    public long TickBase { get; }

    /// <summary>True when a run goes to its runner only once the store has recorded its start.</summary>
    public virtual bool RecordsStartBeforeRun => false;

    /// <summary>True when the store keeps the run history (queries go to <see cref="Forward"/>); the manager keeps it otherwise.</summary>
    public virtual bool KeepsHistory => false;

    /// <summary>The link to <paramref name="store"/>, whose queries <paramref name="keeper"/> (the store child) answers.</summary>
    public static StoreLink For(IScheduleStore? store, IActorRef? keeper = null) => store is null ? None : new Stored(store, keeper);

    /// <summary>A tick number as shown outside.</summary>
    public long Outside(long tick) => tick + TickBase;

    /// <summary>A tick number from outside (a <see cref="Testing.Tick"/>, a waiter's) in the manager's numbering.</summary>
    public long Inside(long number) => number - TickBase;

    /// <summary>
    /// Puts the saved places, counters, last starts and pauses back into <paramref name="table"/> before the first tick;
    /// returns the due times the schedule missed while nothing ran.
    /// </summary>
    public virtual IReadOnlyList<DueRun> Restore(TaskTable table, DateTimeOffset start) => [];

    /// <summary>Tick <paramref name="tick"/> was dispatched with <paramref name="due"/>: saves their new places before their runs start.</summary>
    public virtual void TickDispatched(TaskTable table, long tick, IReadOnlyList<DueRun> due, DateTimeOffset scheduledAt, DateTimeOffset start)
    {
    }

    /// <summary>The tasks to start with when the store kept changes made at run time; null: the set's own.</summary>
    public virtual IReadOnlyList<Tasks.PeriodicTaskDefinition>? Tasks => null;

    /// <summary>Checked <paramref name="changes"/> were applied to <paramref name="table"/>.</summary>
    public virtual void TasksChanged(IReadOnlyList<TaskChange> changes, TaskTable table, bool fromConfiguration)
    {
    }

    public virtual void RunStarting(TaskState task, Run run, DateTimeOffset now)
    {
    }

    /// <summary>A run of <paramref name="task"/> ended (or never began), with the counters after it; <paramref name="clock"/> says when.</summary>
    public virtual void RunEnded(TaskState task, RunEnded ended, IScheduler clock)
    {
    }

    public virtual void PauseChanged(TaskState task)
    {
    }

    /// <summary>Answers a <see cref="FlushState"/> once everything told so far is saved (at once without a store).</summary>
    public virtual void Flush(FlushState flush, IActorRef sender) => sender.Tell(StateFlushed.Instance);

    /// <summary>Answers a <see cref="GetRecentRuns"/>: only a store keeps recent runs.</summary>
    public virtual void RecentRuns(string setName, GetRecentRuns query, IActorRef sender) =>
        sender.Tell(new RecentRunsReport(setName, query.Task, false, []));

    /// <summary>Hands a run history query to the store child, which answers <paramref name="sender"/>.</summary>
    public virtual void Forward(object query, IActorRef sender) =>
        sender.Tell(new Status.Failure(new InvalidOperationException("this task set has no state store to ask.")));

    private sealed class Stored(IScheduleStore store, IActorRef? keeper) : StoreLink(store.TickBase)
    {
        private bool _reportedAllPlaces;

        public override bool RecordsStartBeforeRun => store.RecordsStartBeforeRun;

        public override bool KeepsHistory => keeper is not null && store.KeepsHistory;

        public override void Forward(object query, IActorRef sender)
        {
            if (keeper is null)
                base.Forward(query, sender);
            else
                keeper.Tell(query, sender);
        }

        public override IReadOnlyList<DueRun> Restore(TaskTable table, DateTimeOffset start)
        {
            if (store.Restored is not { } restored)
                return [];
            var places = new TaskPlace?[table.All.Count];
            foreach (var task in table.All)
            {
                if (!restored.TryGetValue(task.Name, out var p))
                    continue;
                // A calendar task's occurrence is a wall-clock time: read against the wall clock's origin.
                var origin = table.Schedule.IsCalendar(task.Index) ? table.Schedule.Origin : start;
                places[task.Index] = new TaskPlace(p.TicksLeft, p.NextDueAt - origin, p.NotBefore - start);
                if (p.Counters is { } counters)
                    task.Counters.Restore(counters);
                task.Counters.LastStart = p.LastRunAt;
                task.Pause = p.Pause;
            }

            return table.Schedule.Restore(places);
        }

        /// <summary>The places of the tasks due on the tick (of every task, the first time).</summary>
        public override void TickDispatched(TaskTable table, long tick, IReadOnlyList<DueRun> due, DateTimeOffset scheduledAt, DateTimeOffset start)
        {
            var places = new List<PlaceReport>(_reportedAllPlaces ? due.Count : table.All.Count);
            if (_reportedAllPlaces)
            {
                foreach (var run in due)
                    AddPlace(places, table, run.Index, scheduledAt, start);
            }
            else
            {
                var next = 0;
                foreach (var task in table.All)
                {
                    var ran = next < due.Count && due[next].Index == task.Index;
                    if (ran)
                        next++;
                    AddPlace(places, table, task.Index, ran ? scheduledAt : null, start);
                }

                _reportedAllPlaces = true;
            }

            store.TickDispatched(tick, places);
        }

        public override IReadOnlyList<Tasks.PeriodicTaskDefinition>? Tasks => store.Tasks;

        public override void TasksChanged(IReadOnlyList<TaskChange> changes, TaskTable table, bool fromConfiguration) =>
            store.TasksChanged(changes.Select(change => change switch
            {
                AddTask add => new TaskChangeReport(add.Task, TaskChangeKind.Add, add.Definition, !fromConfiguration && add.Definition!.BodyType is not null),
                UpdateTask update => new TaskChangeReport(
                    update.Task, TaskChangeKind.Update, table.Find(update.Task)!.Definition, !fromConfiguration && update.Body is null),
                _ => new TaskChangeReport(change.Task, TaskChangeKind.Remove, null, !fromConfiguration),
            }).ToList());

        public override void RunStarting(TaskState task, Run run, DateTimeOffset now) =>
            store.RunStarting(task.Index, task.Name, run, now, RetryPolicy.Deadline(task.Definition.Options, now));

        public override void RunEnded(TaskState task, RunEnded ended, IScheduler clock)
        {
            if (task.CurrentRun is { } run)
                store.RunEnded(task.Name, clock.Now, new EndedRun(
                    run.Tick, run.ScheduledAt, task.Counters.LastStart ?? run.ScheduledAt, ended.Duration, ended.Outcome, ended.Attempts,
                    task.Counters.ToRecord(), ended.Error));
        }

        public override void PauseChanged(TaskState task) => store.PauseChanged(task.Name, task.Pause);

        public override void Flush(FlushState flush, IActorRef sender)
        {
            if (keeper is null)
                base.Flush(flush, sender);
            else
                keeper.Tell(flush, sender);
        }

        public override void RecentRuns(string setName, GetRecentRuns query, IActorRef sender)
        {
            if (keeper is null)
                base.RecentRuns(setName, query, sender);
            else
                Forward(query, sender);
        }

        private static void AddPlace(List<PlaceReport> places, TaskTable table, int index, DateTimeOffset? ranAt, DateTimeOffset start)
        {
            if (table.Schedule.PlaceOf(index) is not { } place)
                return;
            var next = place.NextDueTime is not { } due ? (DateTimeOffset?)null
                : table.Schedule.IsCalendar(index) ? table.Schedule.WallAt(due) : start + due;
            places.Add(new PlaceReport(table[index].Name, table.Schedule.NextDueTick(index), next, ranAt));
        }
    }
}
