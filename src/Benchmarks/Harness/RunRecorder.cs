using System.Diagnostics;
using ActorScheduler.Benchmarks.Engines;
using HdrHistogram;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>
/// The harness's own account of every run, taken inside the task body (never from an engine's report). A run serves the
/// latest due time of its task at or before the moment it starts (epoch + k x T; a run up to min(T/10, 10 ms) early
/// serves the coming one): its lateness is the time since that due time. Due times passed over without a run are not
/// delivered: that is what the common overlap rule (skip a run while the last is in flight) does with them, and an
/// engine that runs a backlog late instead shows it the same way, as runs not delivered. Two counts apart from these:
/// a second run of an occurrence (a run whose occurrence id is not above the task's last one: the same due time run
/// twice, a bug), exact but only for engines that give an id (see <see cref="TaskBody"/>), and counted neither as
/// delivered nor as off-grid; and an off-grid run, the harness's time reading: any other run whose start falls in a
/// period whose due time was already served (a run late by about a period, or early by more than min(T/10, 10 ms)).
/// Runs starting in a warm-up period (the first ones) or one past the window are not counted in any of these.
/// </summary>
public sealed class RunRecorder
{
    private static readonly long HighestMicros = TimeSpan.FromHours(1).Ticks / 10;

    private readonly long[] _served;
    private readonly long[] _lastOccurrence;
    private readonly long _earlyTs;
    private readonly long _periodTs;
    private readonly long _lastIndex;
    private readonly long _firstCounted;
    private readonly int _hung;
    private readonly ThreadLocal<LongHistogram> _histograms = new(() => new LongHistogram(HighestMicros, 3), trackAllValues: true);
    private long _epoch;
    private long _firstRun;
    private long _delivered;
    private long _offGrid;
    private long _secondRuns;
    private int _withOccurrence;
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
        _served = new long[tasks];
        var first = firstAtStart ? 0 : 1;
        Array.Fill(_served, first - 1);
        _lastOccurrence = new long[tasks];
        Array.Fill(_lastOccurrence, Occurrence.None);
        _periodTs = (long)(period.TotalSeconds * Stopwatch.Frequency);
        _earlyTs = Math.Min(_periodTs / 10, Stopwatch.Frequency / 100);
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

    /// <summary>With BENCH_TRACE set: off-grid runs per period.</summary>
    internal long[] TraceOffGrid { get; } = new long[4096];

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

    /// <summary>Runs starting in a period whose due time was already served, other than second runs.</summary>
    public long OffGrid => Interlocked.Read(ref _offGrid);

    /// <summary>Second runs of an occurrence by its id; null when the engine gave no run an id.</summary>
    public long? SecondRuns => Volatile.Read(ref _withOccurrence) == 0 ? null : Interlocked.Read(ref _secondRuns);

    public long AfterWindow => Interlocked.Read(ref _afterWindow);

    /// <summary>Stopwatch timestamp of the first run of any task, 0 before.</summary>
    public long FirstRun => Interlocked.Read(ref _firstRun);

    public long Epoch
    {
        get => _epoch;
        set => _epoch = value;
    }

    /// <summary>The body every engine runs.</summary>
    public ValueTask Body(int index, long occurrence, CancellationToken cancellationToken)
    {
        Record(index, occurrence);
        if (index == _hung)
            Thread.Sleep(Timeout.Infinite); // hangs, ignoring cancellation, as a stuck call into a dead service does
        return ValueTask.CompletedTask;
    }

    public void Stop() => _recording = false;

    private void Record(int index, long occurrence)
    {
        var now = Stopwatch.GetTimestamp();
        if (_firstRun == 0)
            Interlocked.CompareExchange(ref _firstRun, now, 0);
        if (!_recording || index == _hung)
            return;
        var k = (now - _epoch + _earlyTs) / _periodTs;
        var counted = k >= _firstCounted && k <= _lastIndex;
        if (occurrence != Occurrence.None)
        {
            if (_withOccurrence == 0)
                Volatile.Write(ref _withOccurrence, 1);
            if (!NewOccurrence(index, occurrence))
            {
                if (counted)
                    Interlocked.Increment(ref _secondRuns);
                return;
            }
        }

        if (k <= _served[index])
        {
            if (counted)
            {
                Interlocked.Increment(ref _offGrid);
                if (Trace is not null && k < TraceOffGrid.Length)
                    Interlocked.Increment(ref TraceOffGrid[k]);
            }

            return;
        }

        _served[index] = k;
        if (k > _lastIndex)
        {
            Interlocked.Increment(ref _afterWindow);
            return;
        }

        if (k < _firstCounted)
            return;
        var due = _epoch + k * _periodTs;
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

    /// <summary>
    /// Takes <paramref name="occurrence"/> as the task's last one and true, or false when it is not above the last one
    /// (a second run of an occurrence; runs that overlap, which the overlap rule forbids, still count once each).
    /// </summary>
    private bool NewOccurrence(int index, long occurrence)
    {
        while (true)
        {
            var last = Volatile.Read(ref _lastOccurrence[index]);
            if (occurrence <= last)
                return false;
            if (Interlocked.CompareExchange(ref _lastOccurrence[index], occurrence, last) == last)
                return true;
        }
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
