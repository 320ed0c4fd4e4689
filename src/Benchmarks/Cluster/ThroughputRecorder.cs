using System.Diagnostics;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// Counts the runs of N tasks due every T within a window, inside the task body: runs, duplicates (a run less than T/2
/// after the task's last one) and due times passed over (gaps between a task's runs of 1.5 T or more, counted in whole
/// periods). The tasks' phases are not known (each bucket of a sharded set ticks from its own start), so a run serves
/// whatever due time it is nearest; over a window of whole periods each task is due window/T times.
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

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Missed => Interlocked.Read(ref _missed);

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
            Interlocked.Add(ref _missed, (gap + _periodTs / 2) / _periodTs - 1);
    }
}
