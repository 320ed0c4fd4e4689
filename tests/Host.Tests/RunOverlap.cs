using System.Globalization;
using System.Text;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>A run of a task on one node, from its events: start to end, or to the node's kill (or the test's end) when cut.</summary>
public sealed record RunSpan(int Node, string Task, long Tick, DateTimeOffset Start, DateTimeOffset End, bool Cut);

/// <summary>
/// The runs of one host process, from its JSON Lines events file, read incrementally (the complete lines added since the
/// last read). Each task may have several runs open on the node: a <c>started</c> opens one, an end event (succeeded,
/// failed, timed-out) closes the open run of its tick, else the oldest. A <c>started</c> while a run of the same task is
/// still open on the node is an overlap on that node, and is recorded as such.
/// </summary>
public sealed class NodeRuns(int node, string path)
{
    private readonly Dictionary<string, List<Event>> _open = new(StringComparer.Ordinal);
    private readonly List<RunSpan> _closed = [];
    private readonly List<string> _overlaps = [];
    private long _offset;

    public int Node { get; } = node;

    public string Path { get; } = path;

    /// <summary>Starts seen, by task: the newest start of each task on this node.</summary>
    public Dictionary<string, DateTimeOffset> LastStarts { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads the lines added since the last call.</summary>
    public void Read()
    {
        lock (_closed)
        {
            if (!File.Exists(Path))
                return;
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length <= _offset)
                return;
            stream.Seek(_offset, SeekOrigin.Begin);
            var buffer = new byte[stream.Length - _offset];
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var complete = read > 0 ? Array.LastIndexOf(buffer, (byte)'\n', read - 1) : -1;
            if (complete < 0)
                return; // a line being written is left for the next read
            _offset += complete + 1;
            foreach (var e in Event.Parse(Encoding.UTF8.GetString(buffer, 0, complete + 1)))
                Add(e);
        }
    }

    private void Add(Event e)
    {
        if (e.Task.Length == 0)
            return;
        if (e.Name == "started")
        {
            var open = _open.TryGetValue(e.Task, out var list) ? list : _open[e.Task] = [];
            if (open.Count > 0)
                _overlaps.Add($"{e.Task}: run on node {Node} (tick {e.Tick}) started at {RunOverlap.Format(e.Time)} while its run of tick " +
                              $"{open[0].Tick} started at {RunOverlap.Format(open[0].Time)} on the same node had not ended");
            open.Add(e);
            LastStarts[e.Task] = e.Time;
        }
        else if (e.Name is "succeeded" or "failed" or "timed-out" && _open.TryGetValue(e.Task, out var open) && open.Count > 0)
        {
            var start = open.FindIndex(s => s.Tick == e.Tick) is var i and >= 0 ? open[i] : open[0];
            open.Remove(start);
            _closed.Add(new RunSpan(Node, e.Task, start.Tick, start.Time, e.Time, false)); // an end event's time is when the run ended
        }
    }

    /// <summary>
    /// The runs read so far that started at or after <paramref name="since"/>: the ended ones, and the open ones cut at
    /// <paramref name="cutAt"/> (the node's kill, or now).
    /// </summary>
    public List<RunSpan> Runs(DateTimeOffset cutAt, DateTimeOffset? since = null)
    {
        lock (_closed)
        {
            var from = since ?? DateTimeOffset.MinValue;
            return _closed.Where(r => r.Start >= from)
                .Concat(_open.Values.SelectMany(o => o).Where(s => s.Time >= from).Select(s => new RunSpan(Node, s.Task, s.Tick, s.Time, cutAt, true)))
                .ToList();
        }
    }

    /// <summary>The tasks with a run open on this node now (started, not ended, as far as read).</summary>
    public List<string> OpenTasks()
    {
        lock (_closed)
            return _open.Where(p => p.Value.Count > 0).Select(p => p.Key).ToList();
    }

    /// <summary>Starts of a task on this node while its previous run here had not ended.</summary>
    public List<string> Overlaps()
    {
        lock (_closed)
            return [.. _overlaps];
    }

    /// <summary>All the runs of a whole events file (read once).</summary>
    public static NodeRuns ReadAll(int node, string path)
    {
        var runs = new NodeRuns(node, path);
        runs.Read();
        return runs;
    }
}

/// <summary>
/// The rule that no two runs of one cluster task are in flight at once, across every node, checked two ways: from the
/// nodes' events (<see cref="NodeRuns"/>, <see cref="Overlaps"/>), and from the commands themselves, each holding a
/// kernel lock of its task for as long as any of its processes lives (<see cref="LockedRuns"/>).
/// </summary>
public static class RunOverlap
{
    /// <summary>
    /// For each task, its runs sorted by start: a run that starts before the latest end of the runs started before it
    /// overlaps that run. Runs may touch (one ends in the millisecond the next starts).
    /// </summary>
    public static List<string> Overlaps(IEnumerable<RunSpan> runs)
    {
        var found = new List<string>();
        foreach (var task in runs.GroupBy(r => r.Task))
        {
            RunSpan? latest = null;
            foreach (var run in task.OrderBy(r => r.Start).ThenBy(r => r.End))
            {
                if (latest is not null && run.Start < latest.End)
                    found.Add($"{run.Task}: run on node {run.Node} (tick {run.Tick}) at {Format(run.Start)} overlaps the run on node {latest.Node} " +
                              $"(tick {latest.Tick}) {Format(latest.Start)}-{Format(latest.End)}{(latest.Cut ? " (cut: no end event)" : "")}");
                if (latest is null || run.End > latest.End)
                    latest = run;
            }
        }

        return found;
    }

    /// <summary>Fails naming the first overlaps, from the spans and from each node's own starts while a run was open.</summary>
    public static void AssertNone(IEnumerable<RunSpan> runs, IEnumerable<NodeRuns>? nodes = null)
    {
        var found = (nodes ?? []).SelectMany(n => n.Overlaps()).Concat(Overlaps(runs)).ToList();
        Assert.True(found.Count == 0, $"{found.Count} overlapping runs:\n{string.Join("\n", found.Take(10))}");
    }

    public static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
}

/// <summary>
/// Commands that record their own runs and hold an exclusive lock (flock, util-linux) on their task's lock file for as
/// long as any process of the run lives: the kernel releases it only when the last of them is gone, however it ended
/// (exit, a stop's kill, the host's SIGKILL). A run that finds the lock taken records a conflict: two runs of the task
/// were alive at once, by the kernel's word rather than by clocks. Each run appends <c>start NODE PID TIME</c> and
/// <c>end NODE PID TIME</c> (or <c>conflict NODE tick TICK TIME</c>) to its task's record file, in the order they
/// happened (the times are for the reader only).
/// </summary>
public sealed class LockedRuns
{
    /// <summary>Exit code of flock -n when the lock is held (a value no command here exits with).</summary>
    private const int Conflict = 75;

    private readonly string _script;

    public LockedRuns(TempDir dir)
    {
        Directory = System.IO.Path.Combine(dir.Path, "locked-runs");
        System.IO.Directory.CreateDirectory(Directory);
        _script = dir.Write("locked-run.sh", $$"""
            # $1: seconds the run lasts. RUN_RECORDS: the records' folder, RUN_NODE: this node.
            records="$RUN_RECORDS/$ACTOR_SCHEDULER_TASK"
            flock -n -E {{Conflict}} "$records.lock" sh -c 'echo "start $0 $$ $(date -u +%T.%3N)" >> "$1"; sleep "$2"; echo "end $0 $$ $(date -u +%T.%3N)" >> "$1"' "$RUN_NODE" "$records.runs" "$1"
            code=$?
            if [ $code -eq {{Conflict}} ]; then echo "conflict $RUN_NODE tick $ACTOR_SCHEDULER_TICK $(date -u +%T.%3N)" >> "$records.runs"; fi
            exit $code
            """);
    }

    public string Directory { get; }

    /// <summary>
    /// A task's body: its <c>command</c>, then <paramref name="keys"/> (its other keys), then its <c>environment</c> (last:
    /// the host's HOCON reader takes no comma after an object value), for node <paramref name="node"/>: a run lasting
    /// <paramref name="seconds"/>, its processes marked with <paramref name="mark"/> when given (<see cref="Processes"/>).
    /// </summary>
    public string Task(int node, double seconds, string keys, string mark = "") =>
        $"command = [\"/bin/sh\", \"{_script}\", \"{seconds.ToString(CultureInfo.InvariantCulture)}\"], {keys}, " +
        $"environment {{ RUN_RECORDS = \"{Directory}\", RUN_NODE = \"{node}\"{(mark.Length > 0 ? $", {Processes.MarkVariable} = {mark}" : "")} }}";

    /// <summary>The record lines of <paramref name="task"/>: (kind, node), in the order written.</summary>
    public List<(string Kind, int Node)> Records(string task)
    {
        var file = System.IO.Path.Combine(Directory, task + ".runs");
        if (!File.Exists(file))
            return [];
        return File.ReadAllLines(file).Select(l => l.Split(' ')).Where(p => p.Length >= 2)
            .Select(p => (p[0], int.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
    }

    private List<string> Lines(string task) => File.ReadAllLines(System.IO.Path.Combine(Directory, task + ".runs")).ToList();

    /// <summary>The tasks that have records.</summary>
    public List<string> RecordedTasks() =>
        System.IO.Directory.EnumerateFiles(Directory, "*.runs").Select(f => System.IO.Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).ToList();

    /// <summary>Fails when a run of some task found another run of it alive; else returns how many runs started.</summary>
    public int AssertNoConflict()
    {
        var conflicts = RecordedTasks().Where(t => Records(t).Any(r => r.Kind == "conflict")).ToList();
        Assert.True(conflicts.Count == 0, $"runs of {string.Join(", ", conflicts)} found their task's lock held by another run alive; the records of " +
                                          $"{conflicts.FirstOrDefault()}, in order:\n{(conflicts.Count == 0 ? "" : string.Join("\n", Lines(conflicts[0]).TakeLast(40)))}");
        return RecordedTasks().Sum(t => Records(t).Count(r => r.Kind == "start"));
    }
}
