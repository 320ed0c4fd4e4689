using System.Globalization;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Runtime;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;

namespace ActorScheduler.Cluster;

/// <summary>
/// INTERNAL API. Without a state store, the store child of the manager of a cluster singleton or bucket: where each
/// task's due times lie (a spaced task's grid, a tick-counted task's phase, a calendar task's expression) and how far
/// the owner got (its last tick, and the time of the last tick that dispatched a run), kept in Akka.DistributedData, in
/// the memory of the cluster's nodes, so that a new owner continues the schedule after a hand-over or a fail-over
/// instead of starting it afresh (docs/cluster.md, "Without a state store: places in the cluster's memory"). A task's
/// entry changes only when its grid does, not with each run, so a tick writes little: the owner's progress at most
/// every <see cref="ProgressEvery"/>, locally, spread by gossip; a graceful hand-over writes everything to a majority
/// before the next owner starts, which reads from a majority. Runs, counters, pauses and changes need a state store.
/// </summary>
internal sealed class SharedPlaces : ReceiveActor
{
    /// <summary>Tasks per distributed data key: an owner's places are split so that no key outgrows a remoting frame.</summary>
    internal const int TasksPerKey = 400;

    /// <summary>How long a read at start, or a hand-over's write, waits for a majority.</summary>
    internal static readonly TimeSpan MajorityTimeout = TimeSpan.FromSeconds(3);

    /// <summary>How often the owner's progress (last tick, last dispatch) is written while it ticks.</summary>
    internal static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(500);

    internal const string LastTickEntry = "";
    private const char Separator = '\u001f';

    private readonly string _setName;
    private readonly IReadOnlyList<PeriodicTaskDefinition> _tasks;
    private readonly Dictionary<string, (PeriodicTaskOptions Options, string Schedule)> _schedules;
    private readonly Dictionary<string, long> _phases = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);
    private readonly LWWDictionaryKey<string, string>[] _keys;
    private readonly IActorRef _replicator;
    private readonly UniqueAddress _self;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, string> _read = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>[] _pending;
    private readonly List<IActorRef> _flushes = [];
    private readonly List<IActorRef> _flushing = [];
    private int _reading;
    private int _writing;
    private long _tickBase;
    private long _lastTick = -1;
    private DateTimeOffset? _lastDispatch;
    private DateTimeOffset _progressWritten = DateTimeOffset.MinValue;

    public SharedPlaces(string id, string setName, IReadOnlyList<PeriodicTaskDefinition> tasks)
    {
        _setName = setName;
        _tasks = tasks;
        _schedules = tasks.ToDictionary(t => t.Name, t => (t.Options, ScheduleState.ScheduleKey(t.Options)), StringComparer.Ordinal);
        var count = Math.Max(1, (tasks.Count + TasksPerKey - 1) / TasksPerKey);
        // The tasks' entries, which rarely change, and last the owner's progress, which does, in a small key of its own.
        _keys = Enumerable.Range(0, count).Select(i => new LWWDictionaryKey<string, string>($"{id}/places-{i}"))
            .Append(new LWWDictionaryKey<string, string>($"{id}/progress")).ToArray();
        _pending = _keys.Select(_ => new Dictionary<string, string>(StringComparer.Ordinal)).ToArray();
        var data = DistributedData.Get(Context.System);
        _replicator = data.Replicator;
        _self = Akka.Cluster.Cluster.Get(Context.System).SelfUniqueAddress;
        Reading();
    }

    /// <summary>Props of the store child of a manager of <paramref name="tasks"/>, kept under <paramref name="id"/>.</summary>
    public static Props Props(string id, string setName, IReadOnlyList<PeriodicTaskDefinition> tasks) =>
        Akka.Actor.Props.Create(() => new SharedPlaces(id, setName, tasks));

    protected override void PreStart()
    {
        _reading = _keys.Length;
        foreach (var key in _keys)
            _replicator.Tell(Dsl.Get(key, new ReadMajority(MajorityTimeout), key));
    }

    private void Reading()
    {
        Receive<GetSuccess>(success =>
        {
            foreach (var (task, place) in success.Get((LWWDictionaryKey<string, string>)success.Key).Entries)
                _read[task] = place;
            Read();
        });
        Receive<NotFound>(_ => Read());
        Receive<GetFailure>(failure => _replicator.Tell(Dsl.Get((LWWDictionaryKey<string, string>)failure.Key, ReadLocal.Instance))); // no majority: what this node has
        Receive<DataDeleted>(_ => Read());
    }

    private void Read()
    {
        if (--_reading > 0)
            return;
        var restored = Restore(_read, _tasks, out var lastTick);
        _tickBase = lastTick + 1;
        foreach (var (task, entry) in _read)
            if (_schedules.TryGetValue(task, out var known) && ParseEntry(entry, known.Schedule) is { } phase)
                _phases[task] = phase;
        if (restored is not null)
            _log.Info("{0}: schedule continued from the cluster's memory ({1} of {2} tasks continue where they were, last tick {3})",
                _setName, restored.Count, _tasks.Count, lastTick);
        Context.Parent.Tell(new StoreRecovered(new Link(Self, restored, _tickBase)));
        Become(Keeping);
    }

    private void Keeping()
    {
        Receive<Advanced>(advanced =>
        {
            _lastTick = advanced.Tick + _tickBase;
            foreach (var place in advanced.Places)
            {
                if (place.LastRunAt is { } ran && (_lastDispatch is null || ran > _lastDispatch))
                    _lastDispatch = ran; // a place reported with a run has the tick's time as its last run
                if (!_changed.Contains(place.Task) && _schedules.TryGetValue(place.Task, out var known)
                    && Phase(known.Options, place, _tickBase) is { } phase
                    && (!_phases.TryGetValue(place.Task, out var written) || written != phase))
                {
                    _phases[place.Task] = phase;
                    Put(place.Task, Entry(known.Schedule, phase));
                }
            }

            var now = Context.System.Scheduler.Now;
            if (now - _progressWritten >= ProgressEvery)
                PutProgress(now);
            Write(WriteLocal.Instance);
        });
        Receive<Changed>(changed =>
        {
            foreach (var task in changed.Tasks)
            {
                _changed.Add(task); // changed at run time, which is not kept: the next owner starts it afresh from the set
                _phases.Remove(task);
                Put(task, "");
            }

            Write(WriteLocal.Instance);
        });
        Receive<FlushState>(_ =>
        {
            _flushes.Add(Sender);
            PutProgress(Context.System.Scheduler.Now);
            Write(new WriteMajority(MajorityTimeout), all: true);
        });
        Receive<UpdateSuccess>(_ => Written());
        Receive<UpdateTimeout>(_ => Written()); // written here; the majority may miss it (a hand-over then starts from gossip)
        Receive<ModifyFailure>(failure =>
        {
            _log.Warning("{0}: a place in the cluster's memory was not written: {1}", _setName, failure.Cause.Message);
            Written();
        });
        Receive<GetRecentRuns>(q => Sender.Tell(new RecentRunsReport(_setName, q.Task, false, [])));
    }

    private void Put(string task, string entry) => _pending[KeyOf(task)][task] = entry;

    private void PutProgress(DateTimeOffset now)
    {
        if (_lastTick < 0 || _lastDispatch is not { } dispatched)
            return;
        _progressWritten = now;
        Put(LastTickEntry, Progress(_lastTick, dispatched));
    }

    /// <summary>The owner's progress: its last tick, and the time of the last tick that dispatched a run.</summary>
    internal static string Progress(long lastTick, DateTimeOffset lastDispatch) =>
        string.Join(Separator, lastTick.ToString(CultureInfo.InvariantCulture), Ticks(lastDispatch));

    private int KeyOf(string task) => task.Length == 0 ? _keys.Length - 1 : TaskBuckets.Of(task, _keys.Length - 1);

    /// <summary>
    /// Writes what is pending, one round at a time; with <paramref name="all"/>, every key, so that a majority has all of
    /// it, and the flushes asked so far are answered when the round ends.
    /// </summary>
    private void Write(IWriteConsistency consistency, bool all = false)
    {
        if (_writing > 0)
            return;
        if (all)
        {
            _flushing.AddRange(_flushes);
            _flushes.Clear();
        }

        for (var i = 0; i < _keys.Length; i++)
        {
            if (_pending[i].Count == 0 && !all)
                continue;
            var entries = _pending[i].ToList();
            _pending[i].Clear();
            var self = _self;
            _writing++;
            _replicator.Tell(Dsl.Update(_keys[i], LWWDictionary<string, string>.Empty, consistency, map =>
            {
                foreach (var (task, place) in entries)
                    map = map.SetItem(self, task, place);
                return map;
            }));
        }

        if (_writing == 0)
            Written(); // nothing to write
    }

    private void Written()
    {
        if (_writing > 0 && --_writing > 0)
            return;
        foreach (var flush in _flushing)
            flush.Tell(StateFlushed.Instance);
        _flushing.Clear();
        if (_flushes.Count > 0)
            Write(new WriteMajority(MajorityTimeout), all: true);
        else if (_pending.Any(p => p.Count > 0))
            Write(WriteLocal.Instance);
    }

    /// <summary>
    /// A task's entry: its schedule and where its due times lie on it, which stays the same from run to run: a spaced
    /// task's due times modulo its spacing (100 ns ticks), a tick-counted task's due tick modulo its period; a calendar
    /// task's occurrences are its expression's. Null when the task has no next due time (disabled, halted).
    /// </summary>
    internal static string? Entry(PeriodicTaskOptions options, PlaceReport place, long tickBase) =>
        Phase(options, place, tickBase) is { } phase ? Entry(ScheduleState.ScheduleKey(options), phase) : null;

    /// <summary>Where the task's due times lie on its schedule (0 for a calendar task), or null without a next due time.</summary>
    internal static long? Phase(PeriodicTaskOptions options, PlaceReport place, long tickBase)
    {
        if (options.Cron is not null)
            return 0;
        if (options.Spacing is { } spacing)
            return place.NextDueAt is { } due ? Mod(due.UtcTicks, spacing.Ticks) : null;
        return place.DueTick is { } tick ? Mod(tick + tickBase, (options.TicksBetweenRuns ?? 0) + 1) : null;
    }

    private static string Entry(string schedule, long phase) => schedule + Separator + phase.ToString(CultureInfo.InvariantCulture);

    /// <summary>The phase of <paramref name="entry"/> when it was written for <paramref name="schedule"/>, or null.</summary>
    private static long? ParseEntry(string entry, string schedule) =>
        entry.Split(Separator) is [var written, var phase] && written == schedule
        && long.TryParse(phase, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>
    /// The places of <paramref name="tasks"/> from <paramref name="entries"/>, for a new owner that starts after the last
    /// tick written: a spaced or calendar task's first due time after the last dispatch written (those after it were
    /// not dispatched, and come as missed due times when they have passed), a tick-counted task's ticks left to its
    /// next due tick. Null when nothing was written (a first start); a task whose schedule changed starts afresh.
    /// </summary>
    internal static Dictionary<string, RestoredPlace>? Restore(
        IReadOnlyDictionary<string, string> entries, IReadOnlyList<PeriodicTaskDefinition> tasks, out long lastTick)
    {
        lastTick = -1;
        if (!entries.TryGetValue(LastTickEntry, out var progress) || progress.Split(Separator) is not [var tick, var at]
            || !long.TryParse(tick, CultureInfo.InvariantCulture, out lastTick) || Time(at) is not { } dispatched)
            return null;
        var restored = new Dictionary<string, RestoredPlace>(StringComparer.Ordinal);
        foreach (var task in tasks)
        {
            var options = task.Options;
            if (!entries.TryGetValue(task.Name, out var entry) || ParseEntry(entry, ScheduleState.ScheduleKey(options)) is not { } phase)
                continue;
            if (options.Cron is { } cron)
            {
                var calendar = CalendarSchedule.Parse(cron, options.TimeZone ?? CalendarSchedule.DefaultZone, (_, m) => new FormatException(m));
                restored[task.Name] = new RestoredPlace(null, calendar.Next(dispatched), null);
            }
            else if (options.Spacing is { } spacing)
            {
                var ahead = Mod(phase - dispatched.UtcTicks, spacing.Ticks);
                restored[task.Name] = new RestoredPlace(null, dispatched.AddTicks(ahead == 0 ? spacing.Ticks : ahead), null);
            }
            else
            {
                var period = (options.TicksBetweenRuns ?? 0) + 1;
                var due = lastTick + 1 + Mod(phase - (lastTick + 1), period); // the first due tick after the last tick
                restored[task.Name] = new RestoredPlace(due - (lastTick + 1), null, null);
            }
        }

        return restored;
    }

    private static long Mod(long value, long period) => ((value % period) + period) % period;

    /// <summary>A time as its UTC ticks (100 ns), so that it comes back exactly.</summary>
    private static string Ticks(DateTimeOffset time) => time.UtcTicks.ToString(CultureInfo.InvariantCulture);

    private static DateTimeOffset? Time(string ticks) =>
        long.TryParse(ticks, CultureInfo.InvariantCulture, out var t) && t > 0 && t <= DateTimeOffset.MaxValue.UtcTicks
            ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    /// <summary>The manager's link: places on each tick go to the actor; the rest is not kept without a state store.</summary>
    private sealed class Link(IActorRef keeper, IReadOnlyDictionary<string, RestoredPlace>? restored, long tickBase) : IScheduleStore
    {
        public IReadOnlyDictionary<string, RestoredPlace>? Restored => restored;

        public IReadOnlyList<PeriodicTaskDefinition>? Tasks => null;

        public long TickBase => tickBase;

        public bool RecordsStartBeforeRun => false;

        public bool KeepsHistory => false;

        public void TasksChanged(IReadOnlyList<TaskChangeReport> changes) => keeper.Tell(new Changed(changes.Select(c => c.Task).ToList()));

        public void TickDispatched(long tick, IReadOnlyList<PlaceReport> places) => keeper.Tell(new Advanced(tick, places));

        public void RunStarting(int index, string task, Run run, DateTimeOffset at, DateTimeOffset? deadline)
        {
        }

        public void RunEnded(string task, DateTimeOffset at, EndedRun run)
        {
        }

        public void PauseChanged(string task, TaskPause? pause)
        {
        }
    }

    private sealed record Advanced(long Tick, IReadOnlyList<PlaceReport> Places);

    private sealed record Changed(IReadOnlyList<string> Tasks);
}
