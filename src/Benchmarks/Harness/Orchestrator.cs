using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ActorScheduler.Benchmarks.Engines;
using ActorScheduler.Testing.Support;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>
/// Runs every engine on every workload in turn, each in its own process (this program re-invoked with --worker, so the
/// same runtime and GC settings), alternating the engines' order from one workload to the next; then the sweep for the
/// largest sustained rate; then prints the table and the goals, and (full run) writes docs/benchmarks.md, its plots and
/// results.json. With --report-only FILE it runs no worker and makes the same report from a saved results.json; with
/// --before FILE the report compares the goals' figures with those of an earlier run's results.json.
/// </summary>
public static class Orchestrator
{
    public static async Task<int> RunAsync(string[] args)
    {
        var quick = args.Contains("--quick");
        var output = OptionValue(args, "--out");
        var beforePath = OptionValue(args, "--before");
        var reportOnly = OptionValue(args, "--report-only");
        SavedRun? before = null;
        try
        {
            // Read first, so that a wrong path fails now rather than after the run.
            before = beforePath is null ? null : SavedRun.Load(beforePath);
            if (reportOnly is not null)
            {
                var saved = SavedRun.Load(reportOnly);
                var savedPlan = saved.ToPlan();
                var rebuilt = new Report(savedPlan, saved, reportOnly, before, beforePath);
                Print(rebuilt);
                if (output is not null)
                    await WriteAsync(output, savedPlan, rebuilt, saved, withResults: false).ConfigureAwait(false);
                return 0;
            }
        }
        catch (InvalidDataException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }

        var plan = Plan.Create(quick);
        var only = OptionValue(args, "--only");
        if (only is not null)
        {
            // A few workloads, without the sweep: prints their rows and goal lines and writes no file (not even with --out).
            var names = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = names.Where(n => plan.Workloads.All(w => w.Name != n)).ToList();
            if (names.Length == 0 || unknown.Count > 0)
            {
                await Console.Error.WriteLineAsync(
                    $"--only: unknown workload '{string.Join(", ", unknown)}' (known: {string.Join(", ", plan.Workloads.Select(w => w.Name))})").ConfigureAwait(false);
                return 2;
            }

            plan = plan.Only(names);
        }

        var run = SavedRun.Now(quick);
        var started = Stopwatch.StartNew();
        var loadBefore = LoadAverage();
        Console.WriteLine($"# ActorScheduler benchmarks ({(quick ? "quick" : "full")} run), {Environment.ProcessorCount} cores, load average {loadBefore}");

        var results = new List<WorkerResult>();
        var order = 0;
        foreach (var workload in plan.Workloads)
        {
            var trials = workload.Engines.ToDictionary(e => e, _ => new List<WorkerResult>());
            for (var trial = 0; trial < workload.Trials; trial++)
            {
                var engines = order++ % 2 == 0 ? workload.Engines : workload.Engines.Reverse().ToList();
                foreach (var engine in engines)
                {
                    var result = await RunWorkloadAsync(workload, engine).ConfigureAwait(false);
                    trials[engine].Add(result);
                    var label = workload.Trials > 1 ? $"{workload.Name}#{trial + 1}" : workload.Name;
                    Console.WriteLine($"  {label,-8} {EngineNames.Display(engine),-15} {Summary(result)}");
                }
            }

            foreach (var engine in workload.Engines)
                results.Add(Median(trials[engine]));
        }

        var sweep = new List<WorkerResult>();
        for (var e = 0; e < (only is null ? Plan.SweepEngines.Count : 0); e++)
        {
            var engine = Plan.SweepEngines[e];
            foreach (var tasks in plan.SweepTasks)
            {
                var result = await RunWorkerAsync(new WorkerArgs(
                    engine, "run", "sweep", tasks, plan.SweepPeriodMs, plan.SweepWindowMs, plan.SweepWarmupMs, -1, Plan.Workers)).ConfigureAwait(false);
                sweep.Add(result);
                Console.WriteLine($"  sweep    {EngineNames.Display(engine),-15} {result.DemandedRate,9:N0} runs/s {Summary(result)}{(Sustains(result) ? "" : "  (not sustained)")}");
                if (!Sustains(result))
                    break;
            }
        }

        run = run with
        {
            LoadBefore = loadBefore,
            LoadAfter = LoadAverage(),
            ElapsedMinutes = Math.Round(started.Elapsed.TotalMinutes, 1),
            Results = results,
            Sweep = sweep,
        };
        var report = new Report(plan, run, before: before, beforePath: beforePath);
        Console.WriteLine();
        Print(report);
        Console.WriteLine($"Total time {started.Elapsed.TotalSeconds:0} s.");

        if ((!quick || output is not null) && only is null)
            await WriteAsync(output ?? Path.Combine(RepositoryRoot(), "docs"), plan, report, run, withResults: true).ConfigureAwait(false);

        return 0;
    }

    private static void Print(Report report)
    {
        Console.WriteLine(report.Tables());
        Console.WriteLine(report.GoalLines());
        if (report.BeforeAfter() is { } beforeAfter)
            Console.WriteLine(beforeAfter);
    }

    /// <summary>benchmarks.md in <paramref name="docs"/>, and the plots (and results.json) in its benchmarks folder.</summary>
    private static async Task WriteAsync(string docs, Plan plan, Report report, SavedRun run, bool withResults)
    {
        var images = Path.Combine(docs, "benchmarks");
        Directory.CreateDirectory(images);
        Plots.Write(images, plan, run.Results, run.Sweep);
        var file = Path.Combine(docs, "benchmarks.md");
        var kept = File.Exists(file) ? KeptSection(await File.ReadAllTextAsync(file).ConfigureAwait(false)) : "";
        await File.WriteAllTextAsync(file, report.Markdown() + kept).ConfigureAwait(false);
        if (withResults)
            await File.WriteAllTextAsync(Path.Combine(images, "results.json"), run.ToJson()).ConfigureAwait(false);
        Console.WriteLine($"Wrote {Path.Combine(docs, "benchmarks.md")} and plots{(withResults ? " and results.json" : "")} in {images}.");
    }

    /// <summary>The heading of the cluster benchmarks' section, written by hand from their printed tables.</summary>
    internal const string ClusterSection = "## Cluster: fail-over, sharded throughput, start recording";

    /// <summary>The cluster benchmarks' section of an existing benchmarks.md (it runs to the end of the file), kept by a full run.</summary>
    internal static string KeptSection(string markdown)
    {
        var at = markdown.IndexOf("\n" + ClusterSection + "\n", StringComparison.Ordinal);
        return at < 0 ? "" : "\n" + markdown[(at + 1)..].TrimEnd() + "\n";
    }

    private const string NoResult = "no result within";

    private static async Task<WorkerResult> RunWorkloadAsync(Workload workload, string engine)
    {
        var args = new WorkerArgs(
            engine, workload.Mode, workload.Name, workload.Tasks, workload.PeriodMs, workload.WindowMs, workload.SettleMs,
            workload.Hung, Plan.Workers);
        var result = await RunWorkerAsync(args).ConfigureAwait(false);
        if (result.Error?.StartsWith(NoResult, StringComparison.Ordinal) != true)
            return result;
        // A worker that never answered (seen now and then with the Akka timers engine) is run once more.
        Console.WriteLine($"  {workload.Name,-8} {EngineNames.Display(engine),-15} {result.Error}: second attempt");
        var second = await RunWorkerAsync(args).ConfigureAwait(false);
        return second.Error is null ? second with { Retried = true } : second;
    }

    /// <summary>
    /// The trial with the median p99 (of an even number, the lower middle one), carrying every trial's p99; a failed
    /// trial counts as the worst.
    /// </summary>
    internal static WorkerResult Median(IReadOnlyList<WorkerResult> trials)
    {
        if (trials.Count == 1)
            return trials[0];
        var ranked = trials.OrderBy(r => r.Error is null ? r.P99Ms : double.PositiveInfinity).ToList();
        return ranked[(ranked.Count - 1) / 2] with { TrialP99Ms = trials.Select(r => r.Error is null ? r.P99Ms : double.NaN).ToArray() };
    }

    public static bool Sustains(WorkerResult r) =>
        r.Error is null && r.DeliveredRatio >= Plan.SweepMinDelivered && r.P99Ms < Plan.SweepMaxP99Ms;

    internal static string Summary(WorkerResult r)
    {
        if (r.Error is not null)
            return "ERROR " + r.Error;
        return r.Mode switch
        {
            "run" => FormattableString.Invariant($"delivered {r.DeliveredRatio * 100,7:0.00}%  second runs {Report.SecondRuns(r)}  off-grid {r.OffGrid:N0}  p50 {r.P50Ms,8:0.00} ms  p99 {r.P99Ms,8:0.00} ms  max {r.MaxMs,8:0.0} ms  CPU {r.CpuPerMillionRuns,7:0.0} s/M runs  {r.AllocatedPerRun,6:0} B/run  GCs {r.GcCount} ({r.GcPauseMs:0.0} ms)"),
            "idle" => FormattableString.Invariant($"idle CPU {r.CpuPercentOfCore:0.00}% of a core  heap {r.HeapBytes / 1048576.0:0.0} MiB"),
            "startup" => FormattableString.Invariant($"first run after {r.FirstRunMs:0} ms"),
            "mem0" => FormattableString.Invariant($"heap {r.HeapBytes / 1048576.0:0.0} MiB"),
            "recovery" => FormattableString.Invariant($"{r.Tasks:N0} tasks recovered in {r.StartMs:0} ms"),
            _ => r.Mode,
        };
    }

    internal static async Task<WorkerResult> RunWorkerAsync(WorkerArgs args)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Run as "dotnet ActorScheduler.Benchmarks.dll": pass the assembly again.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            start.ArgumentList.Add(typeof(Orchestrator).Assembly.Location);
        foreach (var a in args.ToArgs())
            start.ArgumentList.Add(a);

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        WorkerResult? result = null;
        var limit = TimeSpan.FromMilliseconds(args.WindowMs + args.SettleMs) + TimeSpan.FromSeconds(60);
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false) is { } line)
            {
                if (!line.StartsWith(WorkerResult.Prefix, StringComparison.Ordinal))
                    continue;
                result = JsonSerializer.Deserialize<WorkerResult>(line[WorkerResult.Prefix.Length..], WorkerResult.Json);
                break;
            }

            // The worker exits right after its result; one that does not (a hung body can hold up an engine) is killed.
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(exit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return Failed(args, $"{NoResult} {limit.TotalSeconds:0} s");
        }

        if (result is null)
        {
            var error = (await stderr.ConfigureAwait(false)).Trim();
            return Failed(args, $"worker exited {process.ExitCode} without a result: {error[..Math.Min(300, error.Length)]}");
        }

        return result;
    }

    private static WorkerResult Failed(WorkerArgs a, string error) =>
        new() { Engine = a.Engine, Mode = a.Mode, Label = a.Label, Tasks = a.Tasks, PeriodMs = a.PeriodMs, WindowMs = a.WindowMs, Error = error };

    internal static string? OptionValue(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    internal static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>The directory holding ActorScheduler.sln, from the working directory up (docs/ is written there).</summary>
    public static string RepositoryRoot() =>
        Repository.RootAbove(Environment.CurrentDirectory) ?? Repository.RootAbove(AppContext.BaseDirectory) ?? Environment.CurrentDirectory;

    internal static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
