using System.Diagnostics;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// Counts the runs of N tasks due every T within a window, inside the task body. The tasks' phases are not known (each
/// bucket of a sharded set ticks from its own start), so runs are not paired with due times: on a fixed-rate schedule a
/// task has at most one run per due time on one owner, so runs over window/T per task is the share delivered (more
/// would be runs twice of one due time). The gaps between a task's runs show the rest: one of 1.5 T or more means a
/// due time passed over or a run more than T/2 late (then the next gap is under T/2).
/// </summary>
internal sealed class ThroughputRecorder(int tasks, TimeSpan period)
{
    private readonly long[] _last = new long[tasks];
    private readonly long _periodTs = (long)(period.TotalSeconds * Stopwatch.Frequency);
    private long _from = long.MaxValue;
    private long _to = long.MaxValue;
    private long _runs;
    private long _duplicates;
    private long _missed;
    private long _total;

    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Gaps of less than T/2 between two runs of a task.</summary>
    public long ShortGaps => Interlocked.Read(ref _duplicates);

    /// <summary>Gaps of 1.5 T or more between two runs of a task.</summary>
    public long LongGaps => Interlocked.Read(ref _missed);

    /// <summary>Runs since the start, window or not.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Opens the window at <paramref name="from"/> and closes it at <paramref name="to"/> (Stopwatch timestamps).</summary>
    public void Window(long from, long to)
    {
        Volatile.Write(ref _to, to);
        Volatile.Write(ref _from, from);
    }

    /// <summary>The body: one task's runs never overlap (overlap = skip), so its slot is written by one run at a time.</summary>
    public void Record(int index)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _total);
        var last = _last[index];
        _last[index] = now;
        if (now < Volatile.Read(ref _from) || now >= Volatile.Read(ref _to))
            return;
        Interlocked.Increment(ref _runs);
        if (last == 0)
            return;
        var gap = now - last;
        if (gap < _periodTs / 2)
            Interlocked.Increment(ref _duplicates);
        else if (gap >= _periodTs * 3 / 2)
            Interlocked.Increment(ref _missed);
    }
}
