using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text.Json;
using ActorScheduler.Benchmarks.Cluster;
using ActorScheduler.Benchmarks.Engines;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>
/// One engine on one workload, in its own process. Modes:
/// run (lateness, delivery, CPU per run), idle (CPU while nothing is due, heap with N tasks), startup (time from
/// start to the first run with N tasks all due at start), mem0 (heap of the engine with no task), recovery (see
/// <see cref="Recovery"/>).
/// </summary>
public static class Worker
{
    public static async Task<int> RunAsync(WorkerArgs args)
    {
        WorkerResult result;
        try
        {
            result = await MeasureAsync(args).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            result = new WorkerResult { Engine = args.Engine, Mode = args.Mode, Label = args.Label, Tasks = args.Tasks, Error = e.GetType().Name + ": " + e.Message };
        }

        Console.Out.WriteLine(WorkerResult.Prefix + JsonSerializer.Serialize(result, WorkerResult.Json));
        Console.Out.Flush();
        // A hung task body never returns: leave without waiting for it (or for engines to shut down).
        Environment.Exit(0);
        return 0;
    }

    private static int GcCount() => GC.CollectionCount(0); // a collection of generation 1 or 2 also counts as one of generation 0

    private static async Task<WorkerResult> MeasureAsync(WorkerArgs a)
    {
        if (a.Mode == "recovery")
            return await Recovery.MeasureAsync(a).ConfigureAwait(false);
        if (a.Mode is ShardedThroughput.Sharded or ShardedThroughput.NodeScoped or ShardedThroughput.NodeScopedOnThree)
            return await ShardedThroughput.MeasureAsync(a).ConfigureAwait(false);
        var period = TimeSpan.FromMilliseconds(a.PeriodMs);
        var window = TimeSpan.FromMilliseconds(a.WindowMs);
        var firstAtStart = a.Mode == "startup";
        var dueTimes = a.Mode == "run" ? Math.Max(1, (long)(window / period)) : 1;
        var warmup = a.Mode == "run" ? (long)(TimeSpan.FromMilliseconds(a.SettleMs) / period) : 0;
        var recorder = new RunRecorder(a.Tasks, period, warmup, dueTimes, firstAtStart, a.Hung);
        var spec = new EngineSpec(a.Tasks, period, firstAtStart, a.Workers);
        // Not disposed: the process exits right after measuring (a hung body may block an orderly shutdown).
        var engine = EngineNames.Create(a.Engine);
        Stage("prepare");
        await engine.PrepareAsync(spec, recorder.Body).ConfigureAwait(false);
        Stage("prepared");
        FullGc();

        var epoch = Stopwatch.GetTimestamp();
        var epochUtc = DateTimeOffset.UtcNow;
        recorder.Epoch = epoch;
        await engine.StartAsync(epoch, epochUtc).ConfigureAwait(false);
        var startMs = Stopwatch.GetElapsedTime(epoch).TotalMilliseconds;
        var scheduleStartMs = 0.0;
        if (engine is IDelayedStart delayed)
        {
            // The schedule counts from a later moment (a state store's recovery): lateness and windows count from it.
            var shifted = await delayed.ScheduleEpochAsync(epoch, epochUtc).ConfigureAwait(false);
            scheduleStartMs = (shifted - epoch) * 1000.0 / Stopwatch.Frequency;
            epoch = shifted;
            recorder.Epoch = epoch;
        }

        Stage("started");

        switch (a.Mode)
        {
            case "run":
            {
                // A full collection at the end of the warm-up, between two due times, for every engine: the first
                // collections after start-up promote everything the engine built while starting (Quartz's triggers,
                // ActorScheduler's runners created on their first run), a start-up cost, not the steady state measured.
                // Then CPU from half a period before the first counted due time to the end of the window.
                await SleepUntil(epoch, period * warmup - period / 2).ConfigureAwait(false);
                FullGc(); // two collections: the survivors of generation 0 reach generation 2 with the second
                await SleepUntil(epoch, period * warmup + period / 2).ConfigureAwait(false);
                var cpu0 = CpuTime();
                var pg = StateStoreVariant.Parse(a.Engine)?.Kind == StateStoreVariant.Postgres;
                var server0 = pg ? PostgresCpu.Read() : 0;
                var gc0 = GcCount();
                var pause0 = GC.GetTotalPauseDuration();
                var allocated0 = GC.GetTotalAllocatedBytes();
                var t0 = Stopwatch.GetTimestamp();
                var grace = period > TimeSpan.FromMilliseconds(500) ? period : TimeSpan.FromMilliseconds(500);
                await SleepUntil(epoch, period * (warmup + dueTimes) + grace).ConfigureAwait(false);
                recorder.Stop();
                Stage("measured");
                var cpu = (CpuTime() - cpu0).TotalSeconds;
                var server = pg ? PostgresCpu.Read() - server0 : 0;
                var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                var gcs = GcCount() - gc0;
                var pause = GC.GetTotalPauseDuration() - pause0;
                var allocated = GC.GetTotalAllocatedBytes() - allocated0;
                var h = recorder.Lateness();
                if (recorder.Trace is { } trace)
                    for (var k = 0; k < trace.Length && k <= warmup + dueTimes; k++)
                        if (recorder.TraceCount[k] > 0)
                            Console.Error.WriteLine($"k={k} runs={recorder.TraceCount[k]} mean={trace[k] / recorder.TraceCount[k] / 1000.0:0.00}ms min={recorder.TraceMin[k] / 1000.0:0.00} max={recorder.TraceMax[k] / 1000.0:0.00} off-grid={recorder.TraceOffGrid[k]}");
                return new WorkerResult
                {
                    Engine = a.Engine, Mode = a.Mode, Label = a.Label, Tasks = a.Tasks, PeriodMs = a.PeriodMs, WindowMs = a.WindowMs,
                    Demanded = recorder.Demanded, Delivered = recorder.Delivered, OffGrid = recorder.OffGrid, SecondRuns = recorder.SecondRuns,
                    P50Ms = Percentile(h, 50), P99Ms = Percentile(h, 99), P999Ms = Percentile(h, 99.9), MaxMs = Percentile(h, 100),
                    PercentileValuesMs = h.TotalCount == 0 ? [] : WorkerResult.PlotPercentiles.Select(p => Percentile(h, p)).ToArray(),
                    CpuSeconds = cpu, WallSeconds = wall, StartMs = startMs, GcCount = gcs, GcPauseMs = pause.TotalMilliseconds,
                    AllocatedBytes = allocated, ScheduleStartMs = scheduleStartMs, ServerCpuSeconds = server,
                };
            }
            case "idle":
            {
                // Let start-up work settle, then measure CPU while nothing is due (the first run is at epoch + T).
                var settle = TimeSpan.FromMilliseconds(a.SettleMs);
                await SleepUntil(epoch, settle).ConfigureAwait(false);
                FullGc();
                var cpu0 = CpuTime();
                var t0 = Stopwatch.GetTimestamp();
                await SleepUntil(epoch, settle + window).ConfigureAwait(false);
                var cpu = (CpuTime() - cpu0).TotalSeconds;
                var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                if (Stopwatch.GetElapsedTime(epoch) >= period)
                    throw new InvalidOperationException("the idle window reached the first due time: use a longer period");
                var heap = FullGc();
                return new WorkerResult
                {
                    Engine = a.Engine, Mode = a.Mode, Label = a.Label, Tasks = a.Tasks, PeriodMs = a.PeriodMs, WindowMs = a.WindowMs,
                    Delivered = recorder.Delivered, CpuSeconds = cpu, WallSeconds = wall, StartMs = startMs, HeapBytes = heap,
                };
            }
            case "startup":
            {
                var limit = TimeSpan.FromMilliseconds(a.WindowMs);
                while (recorder.FirstRun == 0 && Stopwatch.GetElapsedTime(epoch) < limit)
                    await Task.Delay(1).ConfigureAwait(false);
                var first = recorder.FirstRun;
                return new WorkerResult
                {
                    Engine = a.Engine, Mode = a.Mode, Label = a.Label, Tasks = a.Tasks, PeriodMs = a.PeriodMs, WindowMs = a.WindowMs,
                    StartMs = startMs,
                    FirstRunMs = first == 0 ? double.NaN : (first - epoch) * 1000.0 / Stopwatch.Frequency,
                    Error = first == 0 ? $"no run within {limit.TotalSeconds:0} s" : null,
                };
            }
            case "mem0":
            {
                await SleepUntil(epoch, TimeSpan.FromMilliseconds(a.SettleMs)).ConfigureAwait(false);
                return new WorkerResult
                {
                    Engine = a.Engine, Mode = a.Mode, Label = a.Label, Tasks = a.Tasks, StartMs = startMs, HeapBytes = FullGc(),
                };
            }
            default:
                throw new ArgumentException($"unknown mode '{a.Mode}'");
        }
    }

    private static readonly bool Verbose = Environment.GetEnvironmentVariable("BENCH_STAGES") is not null;

    private static void Stage(string name)
    {
        if (Verbose)
            Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {name}");
    }

    private static double Percentile(HdrHistogram.HistogramBase h, double percentile) =>
        h.TotalCount == 0 ? double.NaN : h.GetValueAtPercentile(percentile) / 1000.0;

    private static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private static async Task SleepUntil(long epoch, TimeSpan offset)
    {
        var wait = offset - Stopwatch.GetElapsedTime(epoch);
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait).ConfigureAwait(false);
    }

    private static long FullGc()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: false);
    }
}

/// <summary>The command line of a worker process.</summary>
public sealed record WorkerArgs(
    string Engine, string Mode, string Label, int Tasks, double PeriodMs, double WindowMs, double SettleMs, int Hung, int Workers)
{
    public IEnumerable<string> ToArgs() =>
    [
        "--worker", Engine, Mode, Label, Tasks.ToString(CultureInfo.InvariantCulture), Str(PeriodMs), Str(WindowMs), Str(SettleMs),
        Hung.ToString(CultureInfo.InvariantCulture), Workers.ToString(CultureInfo.InvariantCulture),
    ];

    public static WorkerArgs Parse(IReadOnlyList<string> a) => new(
        a[0], a[1], a[2], int.Parse(a[3], CultureInfo.InvariantCulture), double.Parse(a[4], CultureInfo.InvariantCulture),
        double.Parse(a[5], CultureInfo.InvariantCulture), double.Parse(a[6], CultureInfo.InvariantCulture),
        int.Parse(a[7], CultureInfo.InvariantCulture), int.Parse(a[8], CultureInfo.InvariantCulture));

    private static string Str(double v) => v.ToString(CultureInfo.InvariantCulture);
}
