using ActorScheduler.Messages;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. The runs a <see cref="RunHistoryWriter"/> has received and not written yet, oldest first, and the write
/// in progress as chunks (docs/cluster.md, "Run history"). It counts the runs received and those done (written or
/// dropped): a query is answered once the runs received before it are done.
/// </summary>
internal sealed class RunHistoryQueue(int maxQueued)
{
    private readonly Queue<(string Task, PeriodicTaskRun Run)> _runs = new();
    private readonly Queue<List<(string Task, PeriodicTaskRun Run)>> _chunks = new();
    private long _chunked; // runs in the chunks: done once all of them are written

    public long Received { get; private set; }

    public long Done { get; private set; }

    /// <summary>Runs waiting for a write, not counting the write in progress.</summary>
    public int Waiting => _runs.Count;

    /// <summary>Runs received and not written: waiting, or in the write in progress.</summary>
    public long Unwritten => _runs.Count + _chunked;

    /// <summary>The chunk to write next, or null when no write is in progress.</summary>
    public List<(string Task, PeriodicTaskRun Run)>? Chunk => _chunks.Count > 0 ? _chunks.Peek() : null;

    /// <summary>Runs dropped beyond the bound and not reported yet.</summary>
    public long Dropped { get; private set; }

    /// <summary>Queues a run that ended; beyond <c>maxQueued</c> waiting, the oldest is dropped.</summary>
    public void Add(string task, PeriodicTaskRun run)
    {
        _runs.Enqueue((task, run));
        Received++;
        while (_runs.Count > maxQueued)
        {
            _runs.Dequeue();
            Done++;
            Dropped++;
        }
    }

    /// <summary>
    /// Starts a write of the oldest <paramref name="max"/> runs at most: one chunk, or chunks of
    /// <paramref name="perChunk"/> runs sorted by task (a chunk then touches few pages of the task index).
    /// </summary>
    public void StartWrite(int max, int? perChunk)
    {
        var batch = new List<(string Task, PeriodicTaskRun Run)>(Math.Min(_runs.Count, max));
        while (batch.Count < max && _runs.TryDequeue(out var run))
            batch.Add(run);
        _chunked = batch.Count;
        if (perChunk is not { } size)
        {
            _chunks.Enqueue(batch);
            return;
        }

        batch.Sort((a, b) => string.CompareOrdinal(a.Task, b.Task));
        for (var first = 0; first < batch.Count; first += size)
            _chunks.Enqueue(batch.GetRange(first, Math.Min(size, batch.Count - first)));
    }

    /// <summary>The next chunk is written; once it was the last, the write's runs are done.</summary>
    public void ChunkWritten()
    {
        _chunks.Dequeue();
        if (_chunks.Count > 0)
            return;
        Done += _chunked;
        _chunked = 0;
    }

    /// <summary>The runs dropped since the last call, to report.</summary>
    public long TakeDropped()
    {
        var dropped = Dropped;
        Dropped = 0;
        return dropped;
    }
}
