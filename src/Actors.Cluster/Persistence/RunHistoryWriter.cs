using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. The keeper's child "history": writes the runs that end to the <see cref="RunHistoryTable"/> and
/// answers <see cref="GetRuns"/> and <see cref="GetRunCounts"/> from it (docs/cluster.md, "Run history"). One database
/// call at a time, piped back: runs are gathered for up to <see cref="GatherFor"/> since the last write (sooner when
/// <see cref="MaxRunsPerWrite"/> wait or a query waits for them) and written together, a query is answered
/// once the runs that arrived before it are written, and retention is swept at start and every minute in steps taken
/// between the writes and queries; a removed task's runs are deleted, as the memory history forgets them. A failed write
/// is tried again after a second with its runs kept (at most <see cref="MaxQueued"/>); nothing here stops the set.
/// On a SQLite file, which has one writer, each call takes a turn from the keeper (<see cref="HistoryTurnWanted"/>), which
/// holds its journal writes meanwhile, and a write is split into turns of <see cref="MaxRunsPerTurn"/> runs sorted by task.
/// </summary>
internal sealed class RunHistoryWriter : ReceiveActor, IWithTimers
{
    /// <summary>Runs kept waiting for a write; beyond it the oldest are dropped.</summary>
    internal const int MaxQueued = 100_000;

    /// <summary>Runs in one write at most (one transaction, or turns of <see cref="MaxRunsPerTurn"/> on SQLite): a second's at 10,000 runs a second.</summary>
    internal const int MaxRunsPerWrite = 10_000;

    /// <summary>
    /// How long runs are gathered before a write, unless <see cref="MaxRunsPerWrite"/> wait or a query waits for them:
    /// a transaction then changes each of a task index's pages once for many runs instead of once a run.
    /// </summary>
    internal static readonly TimeSpan GatherFor = TimeSpan.FromSeconds(1);

    /// <summary>Runs written in one turn on SQLite, one transaction: the keeper's journal waits for them.</summary>
    internal const int MaxRunsPerTurn = 1_000;

    internal static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private readonly RunHistoryTable _table;
    private readonly RunHistorySettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<Waiting> _queries = new();
    private readonly Queue<Removal> _removed = new(); // tasks whose runs to delete
    private readonly int _trimAfter; // a tenth of keep-runs: the runs written since a task's last trim that make it due for one
    private readonly Dictionary<string, int> _untrimmed; // runs written since each task's last trim (at start: the keeper's tasks, due)
    private readonly RunHistoryQueue _runs = new(MaxQueued);
    private RunHistorySweep? _sweep;
    private bool _retrying; // a write failed: the next one waits for RetryWrite
    private int _last;      // the kind of call made last (0 query, 1 write, 2 sweep): the next is of another kind if one waits
    private DateTimeOffset _lastWrite = DateTimeOffset.MinValue; // when the last write started
    private readonly bool _takesTurns; // each call waits for HistoryTurnGranted from the keeper (a SQLite file)
    private bool _hasTurn;
    private bool _askedTurn;

    public RunHistoryWriter(RunHistoryTable table, RunHistorySettings settings, IEnumerable<string> tasks, bool takesTurns = false)
    {
        _table = table;
        _takesTurns = takesTurns;
        _settings = settings;
        _trimAfter = Math.Max(1, settings.KeepRuns / 10);
        _untrimmed = tasks.Distinct(StringComparer.Ordinal).ToDictionary(t => t, _ => _trimAfter, StringComparer.Ordinal);
        Idle();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(RunHistoryTable table, RunHistorySettings settings, IReadOnlyCollection<string> tasks, bool takesTurns = false) =>
        Akka.Actor.Props.Create(() => new RunHistoryWriter(table, settings, tasks, takesTurns));

    /// <summary>
    /// The writer of a keeper (<paramref name="owner"/>, its persistence id) as its child, or null when the history stays
    /// in the manager's memory (<see cref="RunHistoryTable.For"/>).
    /// </summary>
    public static IActorRef? StartFor(IActorContext context, PeriodicTaskSettings settings, string setName, string owner, IEnumerable<string> tasks) =>
        RunHistoryTable.For(settings.State, setName, owner) is { } table
            ? context.ActorOf(Props(table, settings.RunHistory, tasks.ToList(), takesTurns: table.SingleWriter), "history")
            : null;

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer(nameof(StartSweep), StartSweep.Instance, RunHistorySweep.SweepEvery);
        Self.Tell(StartSweep.Instance);
    }

    protected override void PostStop()
    {
        if (_runs.Dropped > 0 || _runs.Unwritten > 0)
            _log.Warning("{0}: the run history lost {1} runs that were not written", _table.SetName, _runs.Dropped + _runs.Unwritten);
    }

    /// <summary>No database call in flight: the next piece of work starts one.</summary>
    private void Idle() => Accept(wake: true);

    /// <summary>A call in flight (or about to start): its result starts the next.</summary>
    private void Busy()
    {
        Accept(wake: false);
        Receive<Next>(_ => StartNext());
        Receive<Written>(OnWritten);
        Receive<WriteFailed>(OnWriteFailed);
        Receive<Answered>(answered =>
        {
            ReleaseTurn();
            answered.ReplyTo.Tell(answered.Answer);
            StartNext();
        });
        Receive<Swept>(OnSwept);
        Receive<Forgotten>(OnForgotten);
    }

    private void Accept(bool wake)
    {
        Receive<KeeperStore.RunEndedHere>(ended =>
        {
            _runs.Add(ended.Task, ended.Run);
            Wake(wake && (!Timers.IsTimerActive(nameof(Gathered)) || _runs.Waiting >= MaxRunsPerWrite)); // else the timer wakes it
        });
        Receive<GetRuns>(query => Wait(query, wake));
        Receive<GetRunCounts>(query => Wait(query, wake));
        Receive<FlushState>(flush => Wait(flush, wake));
        Receive<KeeperStore.TasksChangedHere>(changed =>
        {
            foreach (var removal in changed.Changes.Where(c => c.Kind == TaskChangeKind.Remove))
            {
                _removed.Enqueue(new Removal(removal.Task, Context.System.Scheduler.Now, _runs.Received));
                _untrimmed.Remove(removal.Task);
            }

            Wake(wake && _removed.Count > 0);
        });
        Receive<StartSweep>(_ =>
        {
            if (_sweep is null)
            {
                var due = _untrimmed.Where(p => p.Value >= _trimAfter).Select(p => p.Key).ToList();
                due.ForEach(task => _untrimmed.Remove(task));
                _sweep = new RunHistorySweep(Context.System.Scheduler.Now, due);
            }

            Wake(wake);
        });
        Receive<RetryWrite>(_ =>
        {
            _retrying = false;
            Wake(wake);
        });
        Receive<Gathered>(_ => Wake(wake));
        Receive<HistoryTurnGranted>(_ =>
        {
            _hasTurn = true;
            _askedTurn = false;
            if (wake)
                ReleaseTurn(); // asked for before a restart: nothing waits for it
            else
                StartNext();
        });
    }

    /// <summary>True when a database call may start now; otherwise the keeper is asked for a turn (once), whose grant starts the next call.</summary>
    private bool MayCall()
    {
        if (!_takesTurns || _hasTurn)
            return true;
        if (!_askedTurn)
            Context.Parent.Tell(HistoryTurnWanted.Instance);
        _askedTurn = true;
        return false;
    }

    private void ReleaseTurn()
    {
        if (!_hasTurn)
            return;
        _hasTurn = false;
        Context.Parent.Tell(HistoryTurnDone.Instance);
    }

    private void Wake(bool wake)
    {
        if (!wake)
            return;
        Self.Tell(Next.Instance); // after what is already in the mailbox, which then goes into the same write
        Become(Busy);
    }

    private void Wait(object query, bool wake)
    {
        _queries.Enqueue(new Waiting(query, Sender, _runs.Received));
        Wake(wake);
    }

    /// <summary>Starts the next call, of another kind than the last one when one waits; idle when nothing does.</summary>
    private void StartNext()
    {
        for (var i = 1; i <= 3; i++)
        {
            var kind = (_last + i) % 3;
            if (kind switch { 0 => TryQuery(), 1 => TryWrite(), _ => TrySweep() })
            {
                _last = kind;
                return;
            }
        }

        ReleaseTurn();
        Become(Idle);
    }

    /// <summary>The first query, once the runs that arrived before it are written (at once while writes fail).</summary>
    private bool TryQuery()
    {
        if (!_queries.TryPeek(out var waiting) || (waiting.After > _runs.Done && !_retrying))
            return false;
        if (waiting.Query is not FlushState && !MayCall())
            return true;
        _queries.Dequeue();
        var replyTo = waiting.ReplyTo;
        var now = Context.System.Scheduler.Now;
        switch (waiting.Query)
        {
            case GetRuns runs:
                _table.PageAsync(runs, now - _settings.KeepFor, _settings.KeepRuns).PipeTo(
                    Self, success: page => new Answered(replyTo, page), failure: e => ReadFailed(replyTo, e));
                break;
            case GetRunCounts counts:
                _table.CountsAsync(RunCounts.Clamp(counts.Since, now)).PipeTo(
                    Self, success: report => new Answered(replyTo, report), failure: e => ReadFailed(replyTo, e));
                break;
            default: // FlushState: the runs before it are written
                Self.Tell(new Answered(replyTo, StateFlushed.Instance));
                break;
        }

        return true;
    }

    private Answered ReadFailed(IActorRef replyTo, Exception e) => new(replyTo, new Status.Failure(new InvalidOperationException(
        $"the run history of task set '{_table.SetName}' could not be read from the {_table.Database}: {Cause(e)}", e)));

    private bool TryWrite()
    {
        if (_retrying || (_runs.Chunk is null && !WriteDue()))
            return false;
        if (!MayCall())
            return true;
        var chunk = _runs.Chunk!;
        _table.WriteAsync(chunk).PipeTo(Self, success: () => new Written(chunk), failure: e => new WriteFailed(chunk, e));
        return true;
    }

    /// <summary>
    /// Starts a write once runs were gathered for <see cref="GatherFor"/> (at once when <see cref="MaxRunsPerWrite"/>
    /// wait or a query waits for them); false, with a timer for the rest of the second, when none is due.
    /// </summary>
    private bool WriteDue()
    {
        if (_runs.Waiting == 0)
            return false;
        var now = Context.System.Scheduler.Now;
        var waited = now - _lastWrite;
        if (_runs.Waiting < MaxRunsPerWrite && waited < GatherFor && !Awaited())
        {
            if (!Timers.IsTimerActive(nameof(Gathered)))
                Timers.StartSingleTimer(nameof(Gathered), Gathered.Instance, GatherFor - waited);
            return false;
        }

        _lastWrite = now;
        _runs.StartWrite(MaxRunsPerWrite, _takesTurns ? MaxRunsPerTurn : null);
        return true;
    }

    /// <summary>True when a query or a removed task's deletion waits for the runs queued.</summary>
    private bool Awaited() =>
        (_queries.TryPeek(out var query) && query.After > _runs.Done) || (_removed.TryPeek(out var removed) && removed.After > _runs.Done);

    private void OnWritten(Written written)
    {
        ReleaseTurn();
        _runs.ChunkWritten();
        foreach (var (task, _) in written.Runs)
            _untrimmed[task] = _untrimmed.GetValueOrDefault(task) + 1;
        if (_runs.Dropped > 0)
            _log.Warning("{0}: the run history dropped {1} runs while it could not write them (at most {2} wait)", _table.SetName, _runs.TakeDropped(), MaxQueued);
        StartNext();
    }

    private void OnWriteFailed(WriteFailed failed)
    {
        ReleaseTurn();
        _retrying = true; // the chunk stays the next to write
        Timers.StartSingleTimer(nameof(RetryWrite), RetryWrite.Instance, RetryAfter);
        _log.Warning("{0}: {1} runs not written to the run history in the {2} (tried again in {3} s): {4}",
            _table.SetName, failed.Runs.Count, _table.Database, RetryAfter.TotalSeconds, Cause(failed.Cause));
        StartNext();
    }

    /// <summary>
    /// A chunk of a removed task's runs (once the runs received before its removal are written), or one step of the
    /// sweep: old runs by age (a chunk), then the tasks due for a trim to keep-runs, then old minutes.
    /// </summary>
    private bool TrySweep()
    {
        if (_removed.TryPeek(out var removed) && (removed.After <= _runs.Done || _retrying))
        {
            if (!MayCall())
                return true;
            _table.DeleteTaskAsync(removed.Task, removed.At, RunHistorySweep.DeleteChunk).PipeTo(
                Self, success: deleted => new Forgotten(removed.Task, deleted, null), failure: e => new Forgotten(removed.Task, 0, e));
            return true;
        }

        if (_sweep is not { } sweep)
            return false;
        if (!MayCall())
            return true;
        var step = sweep.Step switch
        {
            RunHistorySweepStep.Age => Deleted(_table.DeleteStartedBeforeAsync(sweep.At - _settings.KeepFor, RunHistorySweep.DeleteChunk)),
            RunHistorySweepStep.Count => _table.KeepNewestAsync(sweep.NextTasks(RunHistorySweep.TasksPerStep), _settings.KeepRuns, RunHistorySweep.DeleteChunk),
            _ => Deleted(_table.DeleteMinutesBeforeAsync(RunCounts.MinuteOf(sweep.At - RunHistorySweep.KeepMinutesFor))),
        };
        step.PipeTo(Self, success: result => new Swept(result.Deleted, result.Done, null), failure: e => new Swept(0, 0, e));
        return true;

        static async Task<(int Deleted, int Done)> Deleted(Task<int> deleting) => (await deleting, 0);
    }

    private void OnSwept(Swept swept)
    {
        ReleaseTurn();
        var sweep = _sweep!;
        if (swept.Cause is { } cause)
        {
            _log.Warning("{0}: the run history's retention was not applied in the {1} (tried again in a minute): {2}",
                _table.SetName, _table.Database, Cause(cause));
            foreach (var task in sweep.NextTasks(int.MaxValue)) // those it had not trimmed yet
                _untrimmed[task] = _untrimmed.GetValueOrDefault(task) + _trimAfter;
            _sweep = null;
        }
        else if (sweep.Advance(swept.Deleted, swept.Done, RunHistorySweep.DeleteChunk))
        {
            if (sweep.Deleted > 0)
                _log.Debug("{0}: the run history's retention deleted {1} runs", _table.SetName, sweep.Deleted);
            _sweep = null;
        }

        StartNext();
    }

    /// <summary>A chunk of a removed task's runs was deleted: the task is done when it was the last (a failure is logged and the rest left to keep-for).</summary>
    private void OnForgotten(Forgotten forgotten)
    {
        ReleaseTurn();
        if (forgotten.Cause is { } cause)
            _log.Warning("{0}.{1}: the runs of the removed task were not deleted from the {2} (keep-for deletes them): {3}",
                _table.SetName, forgotten.Task, _table.Database, Cause(cause));
        if (forgotten.Cause is not null || forgotten.Deleted < RunHistorySweep.DeleteChunk)
            _removed.Dequeue();
        StartNext();
    }

    private static string Cause(Exception e) => (e is AggregateException { InnerException: { } inner } ? inner : e).Message;

    /// <summary>A query, or a FlushState, and the number of runs received before it.</summary>
    private sealed record Waiting(object Query, IActorRef ReplyTo, long After);

    private sealed record Written(List<(string Task, PeriodicTaskRun Run)> Runs);

    private sealed record WriteFailed(List<(string Task, PeriodicTaskRun Run)> Runs, Exception Cause);

    private sealed record Answered(IActorRef ReplyTo, object Answer);

    private sealed record Swept(int Deleted, int Done, Exception? Cause);

    private sealed record Forgotten(string Task, int Deleted, Exception? Cause);

    /// <summary>A task removed at <paramref name="At"/>: its runs that started before are deleted once the runs received before it are written.</summary>
    private sealed record Removal(string Task, DateTimeOffset At, long After);

    private sealed class Next
    {
        public static readonly Next Instance = new();
    }

    private sealed class StartSweep
    {
        public static readonly StartSweep Instance = new();
    }

    private sealed class RetryWrite
    {
        public static readonly RetryWrite Instance = new();
    }

    private sealed class Gathered
    {
        public static readonly Gathered Instance = new();
    }
}
