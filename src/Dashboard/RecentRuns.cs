using System.Collections.Concurrent;
using ActorScheduler.Messages;

namespace ActorScheduler.Dashboard;

/// <summary>One attempt of a run as the console shows it; Outcome is "running" until it ends.</summary>
internal sealed record RunRecord(
    long Tick, int Attempt, DateTimeOffset ScheduledAt, DateTimeOffset StartedAt, long? DurationMs, string Outcome, string? Error, string? Node);

/// <summary>
/// The last N attempts of each task seen on this node's EventStream, by set and task. Bounded: N per task, and a task
/// removed at run time is dropped. Written by one subscriber actor, read from request threads (a lock per task).
/// </summary>
internal sealed class RecentRuns(int capacity)
{
    private readonly ConcurrentDictionary<(string Set, string Task), Ring> _tasks = new();

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), "RecentRuns must be > 0.");

    /// <summary>Records a run event (other events are ignored).</summary>
    public void Add(PeriodicTaskEvent e, string? node)
    {
        RunRecord? ended = e switch
        {
            PeriodicTaskSucceeded s => new(e.Tick, e.Attempt, e.ScheduledAt, s.StartedAt, EventJson.Milliseconds(s.Duration), "succeeded", null, node),
            PeriodicTaskFailed f => new(e.Tick, e.Attempt, e.ScheduledAt, f.StartedAt, EventJson.Milliseconds(f.Duration), "failed", EventJson.ErrorText(f.Error), node),
            PeriodicTaskTimedOut t => new(e.Tick, e.Attempt, e.ScheduledAt, t.StartedAt, EventJson.Milliseconds(t.Duration), "timed-out", t.Error, node),
            _ => null,
        };
        if (ended is not null)
            _tasks.GetOrAdd((e.SetName, e.Task), _ => new Ring(Capacity)).End(ended);
        else if (e is PeriodicTaskStarted started)
            _tasks.GetOrAdd((e.SetName, e.Task), _ => new Ring(Capacity))
                .Start(new RunRecord(e.Tick, e.Attempt, e.ScheduledAt, started.StartedAt, null, "running", null, node));
    }

    /// <summary>Forgets a task (removed from its set).</summary>
    public void Remove(string set, string task) => _tasks.TryRemove((set, task), out _);

    /// <summary>The task's recent attempts, newest first (empty when none was seen).</summary>
    public IReadOnlyList<RunRecord> Of(string set, string task, int max = int.MaxValue) =>
        _tasks.TryGetValue((set, task), out var ring) ? ring.Snapshot(max) : [];

    public int TaskCount => _tasks.Count;

    /// <summary>A fixed-size ring of attempts, oldest overwritten first.</summary>
    private sealed class Ring(int capacity)
    {
        private readonly RunRecord[] _items = new RunRecord[capacity];
        private int _next;
        private int _count;

        public void Start(RunRecord run)
        {
            lock (_items)
                Push(run);
        }

        /// <summary>Completes the attempt's "running" record, or adds the ended attempt (its start was not seen).</summary>
        public void End(RunRecord run)
        {
            lock (_items)
            {
                for (var i = 1; i <= _count; i++)
                {
                    var at = (_next - i + _items.Length) % _items.Length;
                    if (_items[at].Tick == run.Tick && _items[at].Attempt == run.Attempt && _items[at].Outcome == "running")
                    {
                        _items[at] = run;
                        return;
                    }
                }

                Push(run);
            }
        }

        public RunRecord[] Snapshot(int max)
        {
            lock (_items)
            {
                var n = Math.Min(max, _count);
                var list = new RunRecord[n];
                for (var i = 0; i < n; i++)
                    list[i] = _items[(_next - 1 - i + _items.Length) % _items.Length];
                return list;
            }
        }

        private void Push(RunRecord run)
        {
            _items[_next] = run;
            _next = (_next + 1) % _items.Length;
            _count = Math.Min(_count + 1, _items.Length);
        }
    }
}
