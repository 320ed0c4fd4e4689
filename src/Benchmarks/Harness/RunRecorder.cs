using System.Diagnostics;
using HdrHistogram;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>
/// The harness's own account of every run, taken inside the task body (never from an engine's report). The k-th run of
/// a task is paired with its k-th due time, epoch + k x T: its lateness is the time since that due time. A run more
/// than T/2 before its task's next due time is a duplicate. Runs paired with a warm-up due time (the first ones) or with
/// a due time past the window are not counted.
/// Because runs are paired in order, an engine that drops (coalesces) a due time pays for it twice: one run fewer
/// delivered, and each later run measured against an older due time (T late) for the rest of the window.
/// </summary>
public sealed class RunRecorder
{
    private static readonly long HighestMicros = TimeSpan.FromHours(1).Ticks / 10;

    private readonly long[] _next;
    private readonly long _periodTs;
    private readonly long _lastIndex;
    private readonly long _firstCounted;
    private readonly int _hung;
    private readonly ThreadLocal<LongHistogram> _histograms = new(() => new LongHistogram(HighestMicros, 3), trackAllValues: true);
    private long _epoch;
    private long _firstRun;
    private long _delivered;
    private long _duplicates;
    private long _afterWindow;
    private volatile bool _recording = true;

    /// <param name="tasks">Number of tasks.</param>
    /// <param name="period">T.</param>
    /// <param name="warmup">Due times per task before the window (paired, not counted).</param>
    /// <param name="dueTimes">Due times counted per task (the window).</param>
    /// <param name="firstAtStart">True when the first due time is the epoch (k = 0), else epoch + T.</param>
    /// <param name="hung">The task whose body hangs (not counted), or -1.</param>
    public RunRecorder(int tasks, TimeSpan period, long warmup, long dueTimes, bool firstAtStart, int hung)
    {
        _next = new long[tasks];
        var first = firstAtStart ? 0 : 1;
        Array.Fill(_next, first);
        _periodTs = (long)(period.TotalSeconds * Stopwatch.Frequency);
        _firstCounted = first + warmup;
        _lastIndex = first + warmup + dueTimes - 1;
        _hung = hung;
        Demanded = dueTimes * (tasks - (hung >= 0 && hung < tasks ? 1 : 0));
    }

    public long Demanded { get; }

    /// <summary>With BENCH_TRACE set: the sum and count of lateness (µs) per due index, printed to standard error.</summary>
    internal long[]? Trace { get; } = Environment.GetEnvironmentVariable("BENCH_TRACE") is null ? null : new long[4096];

    internal long[] TraceCount { get; } = new long[4096];

    internal long[] TraceMax { get; } = new long[4096];

    internal long[] TraceMin { get; } = Enumerable.Repeat(long.MaxValue, 4096).ToArray();

    private static void InterlockedMax(ref long target, long value)
    {
        long seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static void InterlockedMin(ref long target, long value)
    {
        long seen;
        while (value < (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long AfterWindow => Interlocked.Read(ref _afterWindow);

    /// <summary>Stopwatch timestamp of the first run of any task, 0 before.</summary>
    public long FirstRun => Interlocked.Read(ref _firstRun);

    public long Epoch
    {
        get => _epoch;
        set => _epoch = value;
    }

    /// <summary>The body every engine runs.</summary>
    public ValueTask Body(int index, CancellationToken cancellationToken)
    {
        Record(index);
        if (index == _hung)
            Thread.Sleep(Timeout.Infinite); // hangs, ignoring cancellation, as a stuck call into a dead service does
        return ValueTask.CompletedTask;
    }

    public void Stop() => _recording = false;

    private void Record(int index)
    {
        var now = Stopwatch.GetTimestamp();
        if (_firstRun == 0)
            Interlocked.CompareExchange(ref _firstRun, now, 0);
        if (!_recording || index == _hung)
            return;
        var k = _next[index];
        if (k > _lastIndex)
        {
            Interlocked.Increment(ref _afterWindow);
            return;
        }

        var due = _epoch + k * _periodTs;
        if (now < due - _periodTs / 2)
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }

        _next[index] = k + 1;
        if (k < _firstCounted)
            return;
        var micros = Math.Max(0, (now - due) * 1_000_000 / Stopwatch.Frequency);
        _histograms.Value!.RecordValue(Math.Min(micros, HighestMicros));
        if (Trace is not null && k < Trace.Length)
        {
            Interlocked.Add(ref Trace[k], micros);
            Interlocked.Increment(ref TraceCount[k]);
            InterlockedMax(ref TraceMax[k], micros);
            InterlockedMin(ref TraceMin[k], micros);
        }
        Interlocked.Increment(ref _delivered);
    }

    /// <summary>All runs' lateness, in microseconds.</summary>
    public LongHistogram Lateness()
    {
        var all = new LongHistogram(HighestMicros, 3);
        foreach (var h in _histograms.Values)
            all.Add(h);
        return all;
    }
}
