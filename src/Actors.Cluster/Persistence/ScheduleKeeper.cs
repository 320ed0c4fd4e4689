using ActorScheduler.Runtime;
using ActorScheduler.Scheduling;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Coordination;
using Akka.Event;
using Akka.Persistence;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. Keeps a task set's place in its schedule with Akka.Persistence, as its manager's child: recovers it
/// (snapshot plus journal), answers the manager <see cref="StoreRecovered"/> with the places to start from, and journals
/// what the manager reports through <see cref="IScheduleStore"/>, the reports that arrive together as one event. A cluster task's start is journaled before its run begins; a run recorded as
/// started but not ended holds its task until the run's deadline, unless the process that ran it is gone
/// (docs/cluster.md, "Never two runs of one cluster task").
/// </summary>
internal sealed class ScheduleKeeper : ReceivePersistentActor, IWithTimers
{
    /// <summary>How long after a failed deletion of old events or snapshots it is tried again.</summary>
    private static readonly TimeSpan TrimRetry = TimeSpan.FromSeconds(1);

    /// <summary>The longest the journal waits for a turn of the history's writer.</summary>
    private static readonly TimeSpan MaxTurn = TimeSpan.FromSeconds(2);

    /// <summary>
    /// At most this many records go into one journal event (a longer queue is written as several events in one write):
    /// about 55 KB, under the 85 KB from which .NET allocates on the large object heap.
    /// </summary>
    internal const int MaxRecordsPerEvent = 500;

    private readonly string _persistenceId;
    private readonly string _setName;
    private readonly KeptChanges _changes;
    private IReadOnlyList<PeriodicTaskDefinition> _tasks;
    private readonly Dictionary<string, string> _scheduleKeys;
    private readonly PeriodicTaskSettings _settings;
    private readonly TaskScope _scope;
    private readonly ScheduleState _state = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Cluster.Cluster? _cluster;
    private readonly string? _node;
    private readonly string? _nodeName;
    private readonly Lease? _lease;
    private IActorRef? _history; // the run history's writer, when the database keeps it (RunHistoryWriter.StartFor)

    private readonly List<object> _unsaved = [];
    private readonly List<(IActorRef Manager, RunStartRecorded Recorded)> _startsUnsaved = [];
    private int _eventsWriting; // events of the write in flight whose handler has not run yet (0: no write in flight)
    private bool _historyTurn;  // the history's writer has the SQLite file: no journal write starts
    private bool _historyWaits; // it asked for a turn while a journal write was in flight
    private long _tickBase;
    private int _eventsSinceSnapshot;
    private long _trimTo;       // the newest saved snapshot's sequence number: what is older may be deleted
    private long _trimmingTo;   // the deletion in flight (0: none)
    private long _trimmedTo;    // what is deleted

    public ScheduleKeeper(
        string persistenceId, string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings,
        string journalPluginId, string snapshotPluginId, TaskScope scope, (string Name, string? ConfigPath) lease)
    {
        _scope = scope;
        _persistenceId = persistenceId;
        _setName = setName;
        _tasks = tasks;
        _changes = new KeptChanges(setName, tasks);
        _settings = settings;
        _scheduleKeys = tasks.ToDictionary(t => t.Name, t => ScheduleState.ScheduleKey(t.Options), StringComparer.Ordinal);
        JournalPluginId = journalPluginId;
        SnapshotPluginId = snapshotPluginId;
        if (Cluster.ClusterPeriodicTasks.IsClustered(Context.System))
        {
            _cluster = Akka.Cluster.Cluster.Get(Context.System);
            _node = NodeId(_cluster.SelfUniqueAddress);
            _nodeName = _cluster.SelfAddress.ToString();
            if (lease.ConfigPath is not null) // the instance the singleton or the bucket's shard holds (LeaseProvider keeps one per name and owner)
                _lease = LeaseProvider.Get(Context.System).GetLease(lease.Name, lease.ConfigPath, _cluster.SelfAddress.HostPort());
        }

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is ScheduleSnapshot snapshot)
                _state.Apply(snapshot);
        });
        Recover<TickRecorded>(e => _state.Apply(e));
        Recover<RunRecorded>(e => _state.Apply(e));
        Recover<PauseRecorded>(e => _state.Apply(e));
        Recover<RecordedBatch>(e => _state.Apply(e));
        Recover<ChangeRecorded>(e => _state.Apply(e));
        Recover<RecoveryCompleted>(_ => Context.Parent.Tell(new StoreRecovered(Recovered())));

        Command<KeeperStore.ScheduleAdvanced>(OnScheduleAdvanced);
        Command<KeeperStore.RecordRunStart>(OnRecordRunStart);
        Command<KeeperStore.RunEndedHere>(e =>
        {
            Save(new RunRecorded(e.Task, false, e.At, null, Ended: e.Run, Counters: e.Counters));
            _history?.Tell(e);
        });
        Command<GetRecentRuns>(OnGetRecentRuns);
        Command<GetRuns>(q => _history?.Forward(q)); // the manager sends them only when _history is there (KeepsHistory)
        Command<GetRunCounts>(q => _history?.Forward(q));
        Command<PauseRecorded>(Save);
        Command<KeeperStore.TasksChangedHere>(OnTasksChanged);
        Command<SaveUnsaved>(_ => SaveNow());
        Command<HistoryTurnWanted>(_ =>
        {
            if (_eventsWriting == 0)
                GrantTurn();
            else
                _historyWaits = true;
        });
        Command<HistoryTurnDone>(_ => EndTurn());
        Command<TurnOver>(_ => EndTurn());
        Command<FlushState>(_ =>
        {
            SaveNow(evenWhileWriting: true);
            DeferAsync(StateFlushed.Instance, done =>
            {
                if (_history is null)
                    Sender.Tell(done);
                else
                    _history.Tell(FlushState.Instance, Sender); // answered once the runs told to it before are written
            });
        });
        Command<SaveSnapshotSuccess>(OnSnapshotSaved);
        Command<SaveSnapshotFailure>(f => _log.Warning("{0}: snapshot not saved: {1}", _setName, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => OnOldEventsDeleted());
        Command<DeleteMessagesFailure>(f => TrimFailed("old journal events", f.Cause));
        Command<DeleteSnapshotsSuccess>(_ => TrimDone());
        Command<DeleteSnapshotsFailure>(f => TrimFailed("old snapshots", f.Cause));
        Command<RetryTrim>(_ => Trim());
    }

    /// <summary>
    /// Added to a crashed run's deadline before its task may start here: the deadline was read on the old owner's clock,
    /// and two nodes' clocks differ (by milliseconds between ActorSystems of one process, more between machines).
    /// </summary>
    internal static readonly TimeSpan ClockMargin = TimeSpan.FromMilliseconds(500);

    public override string PersistenceId => _persistenceId;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of a manager of <paramref name="tasks"/> (already resolved and filtered) with a keeper under
    /// <paramref name="persistenceId"/> as its state store. <paramref name="lease"/> names the lease of the singleton or
    /// bucket that runs them and its configuration (none when null): a start is recorded, and its run begins, only while
    /// this node holds it.
    /// </summary>
    public static Props ManagerProps(
        string persistenceId, string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings,
        string journalPluginId, string snapshotPluginId, bool withTicker = true, TaskScope scope = TaskScope.Node, SetStart? start = null,
        (string Name, string? ConfigPath) lease = default) =>
        PeriodicTaskManager.Props(setName, tasks, settings, withTicker,
            Akka.Actor.Props.Create(() => new ScheduleKeeper(persistenceId, setName, tasks, settings, journalPluginId, snapshotPluginId, scope, lease)),
            start, scope);

    /// <summary>The store the manager starts from: the recovered places by task, the tick base, and this keeper to report to.</summary>
    private KeeperStore Recovered()
    {
        var now = Context.System.Scheduler.Now;
        _tickBase = _state.LastTick + 1; // tick numbers continue after the last one recorded
        var dropped = new List<ChangeRecorded>();
        var changed = _changes.Restore(_state, Context.System, _log, dropped, now);
        dropped.ForEach(Save);
        if (changed is not null)
        {
            _tasks = changed;
            _scheduleKeys.Clear();
            foreach (var task in changed)
                _scheduleKeys[task.Name] = ScheduleState.ScheduleKey(task.Options);
        }

        var restored = _state.Restore(_tasks, _scheduleKeys, _tickBase, now, _settings.ShutdownTimeout, ClockMargin, RunIsOver, _log, _setName);
        _history = RunHistoryWriter.StartFor(Context, _settings, _setName, _persistenceId, _tasks.Select(t => t.Name));
        return new KeeperStore(Self, changed, restored, _tickBase, _nodeName, _scope == TaskScope.Cluster, keepsHistory: _history is not null);
    }

    /// <summary>
    /// A recorded run is certainly over when it belonged to another process that is gone: outside a cluster, any other
    /// process (one process keeps a node's schedule at a time); in a cluster, one whose node is no longer a member, or
    /// is down. Only while runs end with their process (RunLifetime); older events name no process and never count.
    /// </summary>
    private bool RunIsOver(RunRecorded run)
    {
        if (!RunLifetime.For(Context.System).EndsWithProcess || run.Process is null || run.Process == RunLifetime.ProcessId)
            return false;
        if (run.Node is null || _cluster is null)
            return true;
        foreach (var member in _cluster.State.Members)
            if (NodeId(member.UniqueAddress) == run.Node)
                return member.Status is Akka.Cluster.MemberStatus.Down or Akka.Cluster.MemberStatus.Removed;
        return true;
    }

    private static string NodeId(Akka.Cluster.UniqueAddress node) => $"{node.Address}#{node.Uid}";

    /// <summary>
    /// Journals a run's start. A cluster task's run begins only once its start is on record; a node-scoped task's at
    /// once, its start journaled just after: only this node runs it, and a new start of this node comes after the
    /// process that ran it is gone, so no other owner waits on the record (docs/cluster.md, "Never two runs of one cluster task").
    /// </summary>
    private void OnRecordRunStart(KeeperStore.RecordRunStart start)
    {
        if (start.Awaited && LeaseMissing() is { } missing)
        {
            Sender.Tell(new RunStartRefused(start.Index, start.Run, missing));
            return;
        }

        if (start.Awaited) // the manager waits for this answer before it sends the run
            _startsUnsaved.Add((Sender, new RunStartRecorded(start.Index, start.Run)));
        Save(new RunRecorded(start.Task, true, start.At, start.Deadline, _node, RunLifetime.ProcessId, start.Run.Tick, start.Run.ScheduledAt));
    }

    /// <summary>Why a cluster run must not begin here now (this node does not hold the lease), or null.</summary>
    private string? LeaseMissing() => _lease is null || _lease.CheckLease()
        ? null
        : $"this node does not hold the lease {_lease.Settings.LeaseName} (docs/cluster.md, \"Never two runs of one cluster task\")";

    /// <summary>The manager forwards a query for one of its tasks; a task added at run time has no kept runs (docs/cluster.md).</summary>
    private void OnGetRecentRuns(GetRecentRuns query)
    {
        var kept = _scheduleKeys.ContainsKey(query.Task) || _state.Recent.ContainsKey(query.Task);
        Sender.Tell(new RecentRunsReport(_setName, query.Task, kept, kept ? _state.RecentOf(query.Task) : []));
    }

    /// <summary>Keeps the tasks' schedules current and journals what each change leaves on record (docs/control.md, "Changes that last").</summary>
    private void OnTasksChanged(KeeperStore.TasksChangedHere changed)
    {
        _history?.Tell(changed); // a removed task's runs are forgotten, as the memory history forgets them
        var now = Context.System.Scheduler.Now;
        foreach (var change in changed.Changes)
        {
            if (change.Definition is { } definition)
                _scheduleKeys[change.Task] = ScheduleState.ScheduleKey(definition.Options);
            else
                _scheduleKeys.Remove(change.Task);
            if (_changes.Fold(change, _state, now) is { } record)
                Save(record);
        }
    }

    private void OnScheduleAdvanced(KeeperStore.ScheduleAdvanced advanced)
    {
        if (_scheduleKeys.Count == 0)
            return; // nothing to keep (a node with only cluster-scoped tasks)
        var places = new List<PlaceRecord>(advanced.Places.Count);
        foreach (var p in advanced.Places)
            places.Add(new PlaceRecord(p.Task, _scheduleKeys[p.Task], _tickBase + p.DueTick, p.NextDueAt, p.LastRunAt));
        Save(new TickRecorded(_tickBase + advanced.Tick, places));
    }

    /// <summary>
    /// Queues a record for the journal. One write is in flight at a time: the first record queued while none is sends
    /// <see cref="SaveUnsaved"/> to this keeper, so it is written with every report already in the mailbox behind it;
    /// what is queued while a write is in flight goes in the next write, when it completes. So at a low rate a record is
    /// written at once, and at a high rate each write carries what came during the one before (docs/architecture.md,
    /// "Persistence").
    /// </summary>
    private void Save(object record)
    {
        _unsaved.Add(record);
        if (_unsaved.Count == 1 && _eventsWriting == 0 && !_historyTurn)
            Self.Tell(SaveUnsaved.Instance);
    }

    /// <summary>Writes the queue as events of at most <see cref="MaxRecordsPerEvent"/> records, in one write.</summary>
    private void SaveNow(bool evenWhileWriting = false)
    {
        if (_unsaved.Count == 0 || ((_eventsWriting > 0 || _historyTurn) && !evenWhileWriting))
            return;
        var events = new List<object>(_unsaved.Count / MaxRecordsPerEvent + 1);
        for (var i = 0; i < _unsaved.Count; i += MaxRecordsPerEvent)
        {
            var count = Math.Min(MaxRecordsPerEvent, _unsaved.Count - i);
            events.Add(count == 1 ? _unsaved[i] : RecordedBatch.Of(_unsaved.GetRange(i, count)));
        }

        var starts = _startsUnsaved.Count == 0 ? null : _startsUnsaved.ToList();
        _unsaved.Clear();
        _startsUnsaved.Clear();
        _eventsWriting += events.Count;
        var left = events.Count;
        PersistAllAsync(events, e =>
        {
            Applied(e);
            _eventsWriting--;
            if (--left == 0 && starts is not null)
            {
                var missing = LeaseMissing(); // the lease may have been lost while the start was written
                foreach (var (manager, recorded) in starts)
                    manager.Tell(missing is null ? recorded : new RunStartRefused(recorded.Index, recorded.Run, missing));
            }

            if (_eventsWriting == 0 && _historyWaits)
                GrantTurn();
            else if (_eventsWriting == 0)
                SaveNow();
        });
    }

    /// <summary>
    /// Lends the SQLite file to the history's writer between two journal writes (its one writer would otherwise make the
    /// journal's next write wait, and Microsoft.Data.Sqlite retries a busy write after 150 ms); back at its TurnDone, or
    /// after <see cref="MaxTurn"/> should it not come.
    /// </summary>
    private void GrantTurn()
    {
        _historyWaits = false;
        _historyTurn = true;
        _history?.Tell(HistoryTurnGranted.Instance);
        Timers.StartSingleTimer(nameof(TurnOver), TurnOver.Instance, MaxTurn);
    }

    private void EndTurn()
    {
        Timers.Cancel(nameof(TurnOver));
        _historyTurn = false;
        SaveNow();
    }

    private void Applied(object evt)
    {
        _state.Apply(evt);
        if (++_eventsSinceSnapshot >= _settings.State.SnapshotEvery)
        {
            _eventsSinceSnapshot = 0;
            SaveSnapshot(_state.ToSnapshot());
        }
    }

    private void OnSnapshotSaved(SaveSnapshotSuccess saved)
    {
        _trimTo = Math.Max(_trimTo, saved.Metadata.SequenceNr);
        Trim();
    }

    /// <summary>
    /// Deletes the events and snapshots older than the newest snapshot, one deletion at a time: overlapping deletions can
    /// deadlock each other in PostgreSQL (40P01). A failed one is tried again; a later snapshot widens the next one.
    /// </summary>
    private void Trim()
    {
        if (_trimmingTo > 0 || _trimmedTo >= _trimTo)
            return;
        _trimmingTo = _trimTo;
        DeleteMessages(_trimmingTo);
    }

    private void OnOldEventsDeleted()
    {
        if (_trimmingTo > 1)
            DeleteSnapshots(new SnapshotSelectionCriteria(_trimmingTo - 1));
        else
            TrimDone();
    }

    private void TrimDone()
    {
        _trimmedTo = _trimmingTo;
        _trimmingTo = 0;
        Trim();
    }

    private void TrimFailed(string what, Exception cause)
    {
        _log.Warning("{0}: {1} not deleted (tried again in {2} s): {3}", _setName, what, TrimRetry.TotalSeconds, cause.Message);
        _trimmingTo = 0;
        Timers.StartSingleTimer(nameof(RetryTrim), RetryTrim.Instance, TrimRetry);
    }

    private sealed class RetryTrim
    {
        public static readonly RetryTrim Instance = new();
    }

    private sealed class SaveUnsaved
    {
        public static readonly SaveUnsaved Instance = new();
    }

    private sealed class TurnOver
    {
        public static readonly TurnOver Instance = new();
    }
}
