using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. A manager's link to its <see cref="ScheduleKeeper"/> (the <see cref="IScheduleStore"/> the keeper
/// answers <see cref="StoreRecovered"/> with): each report is one of the messages below, told to the keeper.
/// </summary>
internal sealed class KeeperStore(
    IActorRef keeper, IReadOnlyList<PeriodicTaskDefinition>? tasks, IReadOnlyDictionary<string, RestoredPlace>? restored, long tickBase,
    string? node, bool startBeforeRun, bool keepsHistory)
    : IScheduleStore
{
    public bool KeepsHistory => keepsHistory;

    public IReadOnlyList<PeriodicTaskDefinition>? Tasks => tasks;

    public void TasksChanged(IReadOnlyList<TaskChangeReport> changes) => keeper.Tell(new TasksChangedHere(changes));

    public IReadOnlyDictionary<string, RestoredPlace>? Restored => restored;

    public bool RecordsStartBeforeRun => startBeforeRun;

    public long TickBase => tickBase;

    public void TickDispatched(long tick, IReadOnlyList<PlaceReport> places) => keeper.Tell(new ScheduleAdvanced(tick, places));

    public void RunStarting(int index, string task, Run run, DateTimeOffset at, DateTimeOffset? deadline) =>
        keeper.Tell(new RecordRunStart(index, task, run, at, deadline, startBeforeRun), ActorCell.GetCurrentSelfOrNoSender());

    public void RunEnded(string task, DateTimeOffset at, EndedRun run) =>
        keeper.Tell(new RunEndedHere(task, at, new PeriodicTaskRun(
            run.Tick, run.ScheduledAt, run.StartedAt, run.Duration, run.Outcome.Name(), run.Attempts, node) { EndedAt = at, Error = run.Error },
            run.Counters));

    public void PauseChanged(string task, TaskPause? pause) =>
        keeper.Tell(new PauseRecorded(task, pause is not null, pause?.Note, pause?.Until));

    internal sealed record ScheduleAdvanced(long Tick, IReadOnlyList<PlaceReport> Places);

    internal sealed record TasksChangedHere(IReadOnlyList<TaskChangeReport> Changes);

    /// <summary>A run's start to journal; <paramref name="Awaited"/>: the manager sends the run only once it is (RecordsStartBeforeRun).</summary>
    internal sealed record RecordRunStart(int Index, string Task, Run Run, DateTimeOffset At, DateTimeOffset? Deadline, bool Awaited);

    internal sealed record RunEndedHere(string Task, DateTimeOffset At, PeriodicTaskRun Run, CounterRecord Counters);
}
