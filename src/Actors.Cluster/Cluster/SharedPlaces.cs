using System.Globalization;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;

namespace ActorScheduler.Cluster;

/// <summary>
/// INTERNAL API. Without a state store, the store child of the manager of a cluster singleton or bucket: each task's
/// place (next due time or tick, last start) and the last tick, kept in Akka.DistributedData, in the memory of the
/// cluster's nodes, so that a new owner continues the schedule after a hand-over or a fail-over instead of starting it
/// afresh (docs/cluster.md, "State: each task's place in its schedule"). Places are written locally on each tick and
/// spread by gossip; a graceful hand-over writes them to a majority before the next owner starts, which reads from a
/// majority. Runs, counters, pauses and changes are not kept: that needs a state store.
/// </summary>
internal sealed class SharedPlaces : ReceiveActor
{
    /// <summary>Tasks per distributed data key: an owner's places are split so that no key outgrows a remoting frame.</summary>
    internal const int TasksPerKey = 400;

    /// <summary>How long a read at start, or a hand-over's write, waits for a majority.</summary>
    internal static readonly TimeSpan MajorityTimeout = TimeSpan.FromSeconds(3);

    private const string LastTickEntry = "";
    private const char Separator = '\u001f';

    private readonly string _setName;
    private readonly IReadOnlyList<PeriodicTaskDefinition> _tasks;
    private readonly Dictionary<string, string> _schedules;
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

    public SharedPlaces(string id, string setName, IReadOnlyList<PeriodicTaskDefinition> tasks)
    {
        _setName = setName;
        _tasks = tasks;
        _schedules = tasks.ToDictionary(t => t.Name, t => ScheduleState.ScheduleKey(t.Options), StringComparer.Ordinal);
        var count = Math.Max(1, (tasks.Count + TasksPerKey - 1) / TasksPerKey);
        _keys = Enumerable.Range(0, count).Select(i => new LWWDictionaryKey<string, string>($"{id}/places-{i}")).ToArray();
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
            if (advanced.Places.Count == 0)
                return; // the tick alone is not worth a write: tick numbers continue from the last tick that moved a task
            Put(LastTickEntry, (advanced.Tick + _tickBase).ToString(CultureInfo.InvariantCulture));
            foreach (var place in advanced.Places)
                Put(place.Task, _changed.Contains(place.Task) ? "" : Encode(_schedules, place, _tickBase));
            Write(WriteLocal.Instance);
        });
        Receive<Changed>(changed =>
        {
            foreach (var task in changed.Tasks)
            {
                _changed.Add(task); // changed at run time, which is not kept: the next owner starts it afresh from the set
                Put(task, "");
            }

            Write(WriteLocal.Instance);
        });
        Receive<FlushState>(_ =>
        {
            _flushes.Add(Sender);
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

    private void Put(string task, string? place)
    {
        if (place is not null)
            _pending[KeyOf(task)][task] = place;
    }

    private int KeyOf(string task) => task.Length == 0 ? 0 : TaskBuckets.Of(task, _keys.Length);

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

    /// <summary>A place as "schedule, due tick, next due time, last start" (times in Unix milliseconds; empty for none).</summary>
    internal static string? Encode(IReadOnlyDictionary<string, string> schedules, PlaceReport place, long tickBase)
    {
        if (!schedules.TryGetValue(place.Task, out var schedule))
            return null; // a task added at run time, which is not kept
        return string.Join(Separator,
            schedule,
            place.DueTick is { } tick ? (tick + tickBase).ToString(CultureInfo.InvariantCulture) : "",
            Millis(place.NextDueAt),
            Millis(place.LastRunAt));
    }

    /// <summary>The places of <paramref name="tasks"/> found in <paramref name="entries"/> whose schedule is unchanged; null when none were kept.</summary>
    internal static Dictionary<string, RestoredPlace>? Restore(
        IReadOnlyDictionary<string, string> entries, IReadOnlyList<PeriodicTaskDefinition> tasks, out long lastTick)
    {
        lastTick = entries.TryGetValue(LastTickEntry, out var last) && long.TryParse(last, CultureInfo.InvariantCulture, out var l) ? l : -1;
        if (lastTick < 0)
            return null;
        var tickBase = lastTick + 1;
        var restored = new Dictionary<string, RestoredPlace>(StringComparer.Ordinal);
        foreach (var task in tasks)
        {
            if (!entries.TryGetValue(task.Name, out var entry))
                continue;
            var parts = entry.Split(Separator);
            if (parts.Length != 4 || parts[0] != ScheduleState.ScheduleKey(task.Options))
                continue;
            long? dueTick = long.TryParse(parts[1], CultureInfo.InvariantCulture, out var d) ? d : null;
            restored[task.Name] = new RestoredPlace(dueTick - tickBase, Time(parts[2]), null, Time(parts[3]));
        }

        return restored;
    }

    private static string Millis(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) ?? "";

    private static DateTimeOffset? Time(string millis) =>
        long.TryParse(millis, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

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
