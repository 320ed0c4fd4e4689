using System.Globalization;
using System.Runtime;
using System.Text;
using ActorScheduler.Benchmarks.Engines;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>
/// The results as markdown tables, one PASS/FAIL line per goal and, given the results.json of an earlier run, a table
/// of each goal's figures before and after.
/// </summary>
public sealed class Report(Plan plan, SavedRun run, string? rebuiltFrom = null, SavedRun? before = null, string? beforePath = null)
{
    private const string As = EngineNames.ActorScheduler;

    private readonly IReadOnlyList<WorkerResult> results = run.Results;
    private readonly IReadOnlyList<WorkerResult> sweep = run.Sweep;

    public WorkerResult? Find(string workload, string engine) =>
        results.FirstOrDefault(r => r.Label == workload && r.Engine == engine);

    /// <summary>The largest demanded rate (runs/s) an engine sustained in the sweep, 0 when none.</summary>
    public double SustainedRate(string engine) =>
        sweep.Where(r => r.Engine == engine && Orchestrator.Sustains(r)).Select(r => r.DemandedRate).DefaultIfEmpty(0).Max();

    /// <summary>Heap per registered task: heap after full GC with N tasks (W4) minus with none (mem0), over N.</summary>
    public double? MemoryPerTask(string engine)
    {
        var withTasks = Find("W4", engine);
        var none = Find("mem0", engine);
        if (withTasks is null || none is null || withTasks.Error is not null || none.Error is not null || withTasks.Tasks == 0)
            return null;
        return (withTasks.HeapBytes - none.HeapBytes) / withTasks.Tasks;
    }

    public string Tables()
    {
        var sb = new StringBuilder();
        sb.AppendLine("| Workload | Engine | Delivered / demanded | Second runs | Off-grid | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | CPU s per M runs | Bytes per run | GCs (pause ms) |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var w in plan.Workloads.Where(w => w.Mode == "run"))
        {
            foreach (var e in w.Engines)
            {
                var r = Find(w.Name, e);
                if (r is null)
                    continue;
                sb.AppendLine(r.Error is not null
                    ? $"| {w.Name} | {EngineNames.Display(e)} | error: {r.Error} | | | | | | | | | |"
                    : Orchestrator.Inv($"| {w.Name} | {EngineNames.Display(e)}{(r.Retried ? " (2nd attempt)" : "")} | {r.Delivered:N0} / {r.Demanded:N0} ({r.DeliveredRatio * 100:0.00}%) | {SecondRuns(r)} | {r.OffGrid:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00}{Trials(r)} | {r.P999Ms:0.00} | {r.MaxMs:0.0} | {r.CpuPerMillionRuns:0.0} | {r.AllocatedPerRun:N0} | {r.GcCount} ({r.GcPauseMs:0.0}) |"));
            }
        }

        sb.AppendLine();
        sb.AppendLine("| Engine | W4 idle CPU (% of a core) | Memory per registered task (bytes, 100,000 tasks) | Start to first run, 100,000 tasks (ms) | Largest sustained rate (runs/s) |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var e in EngineNames.All)
        {
            var idle = Find("W4", e);
            var start = Find("startup", e);
            var memory = MemoryPerTask(e);
            var sustained = Plan.SweepEngines.Contains(e) ? Orchestrator.Inv($"{SustainedRate(e):N0}") : "not measured";
            sb.AppendLine(Orchestrator.Inv(
                $"| {EngineNames.Display(e)} | {(idle is { Error: null } ? idle.CpuPercentOfCore.ToString("0.00", CultureInfo.InvariantCulture) : "n/a")} | {(memory is { } m ? m.ToString("N0", CultureInfo.InvariantCulture) : "n/a")} | {(start is { Error: null } ? start.FirstRunMs.ToString("N0", CultureInfo.InvariantCulture) : start?.Error ?? "not measured")} | {sustained} |"));
        }

        sb.AppendLine();
        sb.AppendLine(Orchestrator.Inv($"Sweep (tasks every {plan.SweepPeriodMs:0} ms, {plan.SweepWindowMs / 1000:0} s measured after {plan.SweepWarmupMs / 1000:0} s of warm-up; sustained = at least {Plan.SweepMinDelivered * 100:0.0}% delivered and p99 under {Plan.SweepMaxP99Ms:0} ms; each engine stops at its first failure):"));
        sb.AppendLine();
        sb.AppendLine("| Engine | Tasks | Demanded runs/s | Delivered | p99 (ms) | Sustained |");
        sb.AppendLine("|---|---:|---:|---:|---:|---|");
        foreach (var r in sweep)
        {
            sb.AppendLine(r.Error is not null
                ? Orchestrator.Inv($"| {EngineNames.Display(r.Engine)} | {r.Tasks:N0} | {r.DemandedRate:N0} | error: {r.Error} | | no |")
                : Orchestrator.Inv($"| {EngineNames.Display(r.Engine)} | {r.Tasks:N0} | {r.DemandedRate:N0} | {r.DeliveredRatio * 100:0.00}% | {r.P99Ms:0.00} | {(Orchestrator.Sustains(r) ? "yes" : "no")} |"));
        }

        return sb.ToString();
    }

    public IReadOnlyList<(string Goal, bool? Pass, string Figure)> Goals()
    {
        var goals = new List<(string, bool?, string)>();
        var w1 = Find("W1", As);
        var w1q = Find("W1", EngineNames.Quartz);
        if (Ok(w1) && Ok(w1q))
        {
            var ratio = w1!.P99Ms / w1q!.P99Ms;
            goals.Add(("W1: p99 lateness <= 5 ms and <= 1/5 of Quartz's", w1.P99Ms <= 5 && ratio <= 0.2,
                Orchestrator.Inv($"p99 {w1.P99Ms:0.00} ms vs Quartz {w1q.P99Ms:0.00} ms: ratio {ratio:0.000} (goal <= 0.200){MedianOf(w1)}")));
        }
        else
        {
            goals.Add(("W1: p99 lateness <= 5 ms and <= 1/5 of Quartz's", null, "not measured"));
        }

        const string trialsGoal = "W1: p99 <= 1/5 of Quartz's in every trial";
        if (Ok(w1) && Ok(w1q) && TrialRatios(w1!, w1q!) is { } ratios)
        {
            goals.Add((trialsGoal, ratios.All(r => r <= 0.2),
                $"ratios {Join(ratios, "0.000")} (p99 {Join(TrialsOf(w1!), "0.00")} ms vs Quartz {Join(TrialsOf(w1q!), "0.00")} ms; goal: each <= 0.200)"));
        }
        else
        {
            goals.Add((trialsGoal, null, Ok(w1) && Ok(w1q) ? "not measured (the engines ran different numbers of trials)" : "not measured"));
        }

        foreach (var name in new[] { "W2", "W3" })
        {
            var r = Find(name, As);
            goals.Add(Ok(r)
                ? ($"{name}: >= 99.9% of runs delivered, p99 lateness < 20 ms", r!.DeliveredRatio >= 0.999 && r.P99Ms < 20,
                    Orchestrator.Inv($"delivered {r.DeliveredRatio * 100:0.000}%, p99 {r.P99Ms:0.00} ms{MedianOf(r)}"))
                : ($"{name}: >= 99.9% of runs delivered, p99 lateness < 20 ms", null, "not measured"));
        }

        const string cpuGoal = "W2: CPU per million runs <= 1.5 s";
        const string bytesGoal = "W2: bytes allocated per run <= 150";
        var w2 = Find("W2", As);
        goals.Add(Ok(w2)
            ? (cpuGoal, w2!.CpuPerMillionRuns <= 1.5, Orchestrator.Inv($"{w2.CpuPerMillionRuns:0.00} s of CPU per million runs{FromMedianTrial(w2)}"))
            : (cpuGoal, null, "not measured"));
        goals.Add(Ok(w2)
            ? (bytesGoal, w2!.AllocatedPerRun <= 150, Orchestrator.Inv($"{w2.AllocatedPerRun:N0} bytes per run{FromMedianTrial(w2)}"))
            : (bytesGoal, null, "not measured"));

        const string w3Goal = "W3: 100% delivered and p99 lateness <= PeriodicTimer's p99 in the same run";
        var w3 = Find("W3", As);
        var w3p = Find("W3", EngineNames.PeriodicTimer);
        goals.Add(Ok(w3) && Ok(w3p)
            ? (w3Goal, w3!.Demanded > 0 && w3.Delivered >= w3.Demanded && w3.P99Ms <= w3p!.P99Ms,
                Orchestrator.Inv($"delivered {w3.Delivered:N0} / {w3.Demanded:N0}, p99 {w3.P99Ms:0.00} ms vs PeriodicTimer {w3p!.P99Ms:0.00} ms"))
            : (w3Goal, null, "not measured"));

        var asRate = SustainedRate(As);
        var qRate = SustainedRate(EngineNames.Quartz);
        goals.Add(("Largest sustained rate >= 10x Quartz's", qRate == 0 ? null : asRate / qRate >= 10,
            qRate > 0
                ? Orchestrator.Inv($"{asRate:N0} vs {qRate:N0} runs/s: ratio {asRate / qRate:0.0} (goal >= 10){(asRate >= plan.SweepTasks[^1] * 1000 / plan.SweepPeriodMs ? " (ActorScheduler sustained the largest step tried)" : "")}")
                : Orchestrator.Inv($"{asRate:N0} runs/s; Quartz sustained no step tried (lowest {plan.SweepTasks[0] * 1000 / plan.SweepPeriodMs:N0} runs/s), so no ratio")));

        var idle = Find("W4", As);
        var akka = Find("W4", EngineNames.AkkaTimers);
        if (Ok(idle) && Ok(akka))
        {
            var ratio = idle!.CpuPercentOfCore / akka!.CpuPercentOfCore;
            goals.Add(("W4: idle CPU < 1% of a core and < 1/10 of the timer-per-actor engine's", idle.CpuPercentOfCore < 1 && ratio < 0.1,
                Orchestrator.Inv($"{idle.CpuPercentOfCore:0.000}% vs Akka timers {akka.CpuPercentOfCore:0.000}%: ratio {ratio:0.000} (goal < 0.100)")));
        }
        else
        {
            goals.Add(("W4: idle CPU < 1% of a core and < 1/10 of the timer-per-actor engine's", null, "not measured"));
        }

        var mAs = MemoryPerTask(As);
        var mQ = MemoryPerTask(EngineNames.Quartz);
        goals.Add(mAs is { } a && mQ is { } q
            ? ("Memory per registered task <= Quartz's (100,000 tasks)", a <= q, Orchestrator.Inv($"{a:N0} vs {q:N0} bytes: ratio {a / q:0.00} (goal <= 1.00)"))
            : ("Memory per registered task <= Quartz's (100,000 tasks)", null, "not measured"));

        var start = Find("startup", As);
        goals.Add(Ok(start)
            ? ("Start to first tick with 100,000 tasks < 1 s", start!.FirstRunMs < 1000, Orchestrator.Inv($"{start.FirstRunMs:0} ms to the first run"))
            : ("Start to first tick with 100,000 tasks < 1 s", null, start?.Error ?? "not measured"));

        var w5 = Find("W5", As);
        if (Ok(w5) && Ok(w1))
        {
            var diff = w5!.P99Ms - w1!.P99Ms;
            goals.Add(("W5: fast tasks' p99 within 1 ms of W1's", diff <= 1 && w5.DeliveredRatio >= 0.999,
                Orchestrator.Inv($"p99 {w5.P99Ms:0.00} ms vs W1 {w1.P99Ms:0.00} ms: {diff:+0.00;-0.00} ms, delivered {w5.DeliveredRatio * 100:0.00}%{MedianOf(w5)}")));
        }
        else
        {
            goals.Add(("W5: fast tasks' p99 within 1 ms of W1's", null, "not measured"));
        }

        const string calendarGoal = "W6: calendar tasks' p99 lateness <= 1/5 of Quartz's cron triggers'";
        var w6 = Find("W6", EngineNames.ActorSchedulerCron);
        var w6q = Find("W6", EngineNames.QuartzCron);
        goals.Add(Ok(w6) && Ok(w6q)
            ? (calendarGoal, w6!.P99Ms <= w6q!.P99Ms / 5 && w6.DeliveredRatio >= 0.999,
                Orchestrator.Inv($"p99 {w6.P99Ms:0.00} ms vs Quartz {w6q.P99Ms:0.00} ms: ratio {w6.P99Ms / w6q.P99Ms:0.000} (goal <= 0.200), delivered {w6.DeliveredRatio * 100:0.00}%"))
            : (calendarGoal, null, "not measured"));

        const string recoveryGoal = "Recovery of 10,000 tasks from a snapshot < 1 s (SQLite)";
        var recovery = Find("recovery", As);
        goals.Add(Ok(recovery)
            ? (recoveryGoal, recovery!.StartMs < 1000, Orchestrator.Inv($"{recovery.StartMs:0} ms from start to the first answer"))
            : (recoveryGoal, null, recovery?.Error ?? "not measured"));

        return goals;
    }

    /// <summary>
    /// ActorScheduler's figures behind the goals, formatted, each with the goal it is held to; null where the run did
    /// not measure it. The before-and-after table pairs two runs' lists row by row.
    /// </summary>
    public IReadOnlyList<(string Figure, string? Value, string Goal)> Figures()
    {
        double? Of(string workload, string engine, Func<WorkerResult, double> figure) =>
            Find(workload, engine) is { Error: null } r && double.IsFinite(figure(r)) ? figure(r) : null;

        var w1 = Find("W1", As);
        var w1q = Find("W1", EngineNames.Quartz);
        var trials = Ok(w1) && w1!.TrialP99Ms.Length > 1 ? w1.TrialP99Ms : null;
        var trialRatios = trials is not null && Ok(w1q) ? TrialRatios(w1!, w1q!) : null;
        var w1P99 = Of("W1", As, r => r.P99Ms);
        var w5P99 = Of("W5", As, r => r.P99Ms);
        var sustained = sweep.Any(r => r.Engine == As) ? SustainedRate(As) : (double?)null;
        var quartzSustained = sweep.Any(r => r.Engine == EngineNames.Quartz) ? SustainedRate(EngineNames.Quartz) : (double?)null;
        return
        [
            ("W1 p99 (ms)", Format(w1P99, "0.00"), "<= 5"),
            ("W1 p99 over Quartz's", Format(Ratio(w1P99, Of("W1", EngineNames.Quartz, r => r.P99Ms)), "0.000"), "<= 0.200"),
            ("W1 p99 of each trial (ms)", trials is null ? null : Join(trials, "0.00"), "each <= 1/5 of Quartz's in the same trial"),
            ("W1 p99 over Quartz's, each trial", trialRatios is null ? null : Join(trialRatios, "0.000"), "each <= 0.200"),
            ("W2 delivered (%)", Format(Of("W2", As, r => r.DeliveredRatio * 100), "0.000"), ">= 99.9"),
            ("W2 p99 (ms)", Format(Of("W2", As, r => r.P99Ms), "0.00"), "< 20"),
            ("W2 CPU s per M runs", Format(Of("W2", As, r => r.CpuPerMillionRuns), "0.00"), "<= 1.5"),
            ("W2 bytes per run", Format(Of("W2", As, r => r.AllocatedPerRun), "N0"), "<= 150"),
            ("W3 delivered (%)", Format(Of("W3", As, r => r.DeliveredRatio * 100), "0.000"), "100"),
            ("W3 p99 (ms)", Format(Of("W3", As, r => r.P99Ms), "0.00"), "< 20 and <= PeriodicTimer's"),
            ("PeriodicTimer's W3 p99 (ms)", Format(Of("W3", EngineNames.PeriodicTimer, r => r.P99Ms), "0.00"), "(the bound for ActorScheduler's W3 p99)"),
            ("W4 idle CPU (% of a core)", Format(Of("W4", As, r => r.CpuPercentOfCore), "0.000"), "< 1"),
            ("W4 idle CPU over Akka timers'", Format(Ratio(Of("W4", As, r => r.CpuPercentOfCore), Of("W4", EngineNames.AkkaTimers, r => r.CpuPercentOfCore)), "0.000"), "< 0.100"),
            ("W5 p99 (ms)", Format(w5P99, "0.00"), "within 1 ms of W1's"),
            ("W5 p99 minus W1's (ms)", Format(w5P99 - w1P99, "+0.00;-0.00"), "<= +1.00"),
            ("W5 delivered (%)", Format(Of("W5", As, r => r.DeliveredRatio * 100), "0.000"), ">= 99.9"),
            ("Memory per registered task (bytes)", Format(MemoryPerTask(As), "N0"), "<= Quartz's"),
            ("Memory per registered task over Quartz's", Format(Ratio(MemoryPerTask(As), MemoryPerTask(EngineNames.Quartz)), "0.00"), "<= 1.00"),
            ("Start to first run, 100,000 tasks (ms)", Format(Of("startup", As, r => r.FirstRunMs), "N0"), "< 1,000"),
            ("Recovery of 10,000 tasks (ms)", Format(Of("recovery", As, r => r.StartMs), "N0"), "< 1,000"),
            ("Largest sustained rate (runs/s)", Format(sustained, "N0"), ">= 10x Quartz's"),
            ("Largest sustained rate over Quartz's", Format(Ratio(sustained, quartzSustained), "0.0"), ">= 10"),
        ];
    }

    /// <summary>
    /// The "Before and after" section: each of ActorScheduler's figures that both the earlier run (--before) and this
    /// one measured. Null without an earlier run.
    /// </summary>
    public string? BeforeAfter()
    {
        if (before is null)
            return null;
        var then = new Report(before.ToPlan(), before).Figures();
        var now = Figures();
        var sb = new StringBuilder();
        sb.AppendLine("## Before and after");
        sb.AppendLine();
        sb.AppendLine($"ActorScheduler's figures behind the goals. Before: `{beforePath}`, {before.Describe()}; after: {(rebuiltFrom is null ? "this run" : $"`{rebuiltFrom}`")}, {run.Describe()}.");
        sb.AppendLine();
        sb.AppendLine("| Figure | Before | After | Goal |");
        sb.AppendLine("|---|---:|---:|---|");
        var missing = new List<string>();
        for (var i = 0; i < now.Count; i++)
        {
            if (then[i].Value is null || now[i].Value is null)
                missing.Add(now[i].Figure);
            else
                sb.AppendLine($"| {now[i].Figure} | {then[i].Value} | {now[i].Value} | {now[i].Goal} |");
        }

        if (missing.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"Not measured in both runs: {string.Join("; ", missing)}.");
        }

        return sb.ToString();
    }

    public string GoalLines()
    {
        var sb = new StringBuilder();
        foreach (var (goal, pass, figure) in Goals())
            sb.AppendLine($"{(pass is null ? "N/A " : pass.Value ? "PASS" : "FAIL")}  {goal}: {figure}");
        return sb.ToString();
    }

    public string Markdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Benchmarks: ActorScheduler beside Quartz.NET, Akka timers, PeriodicTimer and nova's loop");
        sb.AppendLine();
        sb.AppendLine("Generated by the full run, `dotnet run -c Release --project src/Benchmarks` (about 22 minutes on 2 cores);");
        sb.AppendLine("`dotnet run -c Release --project src/Benchmarks -- --quick` runs shorter windows (under 3 minutes) and prints the");
        sb.AppendLine("same tables and goal lines without writing this file (`--out DIR` writes them to DIR). `--before FILE` adds a");
        sb.AppendLine("before-and-after table against the results.json of an earlier full run (for instance");
        sb.AppendLine("`git show COMMIT:docs/benchmarks/results.json > before.json`), and `--report-only FILE` rebuilds the tables and");
        sb.AppendLine("goal lines (with `--out DIR`, this file and its plots) from a saved results.json without running a worker.");
        sb.AppendLine("`--only W3,recovery` runs only the workloads named (full windows, or the quick ones with `--quick`), without");
        sb.AppendLine("the sweep, and prints their rows and goal lines without writing any file.");
        sb.AppendLine("Micro-benchmarks of the dispatch path and of calendar tasks on the skip table (BenchmarkDotNet; `*Calendar*`");
        sb.AppendLine("plans a year of 60 s ticks of 100 tasks with and without calendar tasks, side by side):");
        sb.AppendLine("`dotnet run -c Release --project src/Benchmarks -- --micro --filter '*' --inProcess`.");
        sb.AppendLine("The cluster benchmarks (the cost of journaling a run's start, fail-over time, sharded throughput) are modes of");
        sb.AppendLine("their own (`-- store`, `-- failover`, `-- sharded`, `-- cluster` for all three): their results are in the last");
        sb.AppendLine("section, [Cluster: fail-over, sharded throughput, start recording](#cluster-fail-over-sharded-throughput-start-recording), which a full run keeps.");
        sb.AppendLine("Every figure below is measured by the harness inside the task body, never taken from an engine's own report:");
        sb.AppendLine("see [How it measures](#how-it-measures).");
        sb.AppendLine();
        sb.AppendLine("## This run");
        sb.AppendLine();
        if (rebuiltFrom is not null)
            sb.AppendLine($"- Rebuilt with `--report-only` from `{rebuiltFrom}`: no worker ran, and what that file does not record reads \"not recorded\".");
        var date = run.Date is { } d ? Orchestrator.Inv($"{d:yyyy-MM-dd HH:mm} UTC") : "Date not recorded";
        sb.AppendLine($"- {date}, {(run.Commit is null ? "commit not recorded" : "commit " + run.Commit)}, {run.Machine ?? "machine not recorded"}");
        sb.AppendLine($"- Load average (1, 5, 15 min) before: {run.LoadBefore ?? "not recorded"}; after: {run.LoadAfter ?? "not recorded"}. The machine is shared: other processes ran beside the benchmark.");
        sb.AppendLine(Orchestrator.Inv($"- GC: {(GCSettings.IsServerGC ? "server" : "workstation")}, concurrent; the same for every engine (each worker is this program re-invoked). Total time {(run.ElapsedMinutes is { } m ? Orchestrator.Inv($"{m:0.0} min") : "not recorded")}."));
        sb.AppendLine($"- Engines: ActorScheduler (this repository), {run.Engines ?? "Quartz.NET and Akka.NET versions not recorded"}.");
        sb.AppendLine();
        sb.AppendLine("## Goals");
        sb.AppendLine();
        sb.AppendLine("| Goal | Result | Measured |");
        sb.AppendLine("|---|---|---|");
        foreach (var (goal, pass, figure) in Goals())
            sb.AppendLine($"| {goal} | {(pass is null ? "not measured" : pass.Value ? "**PASS**" : "**FAIL**")} | {figure} |");
        sb.AppendLine();
        if (BeforeAfter() is { } beforeAfter)
        {
            sb.Append(beforeAfter);
            sb.AppendLine();
        }

        sb.AppendLine("## Results");
        sb.AppendLine();
        sb.AppendLine("Workloads: " + string.Join("; ", plan.Workloads.Select(w => $"{w.Name}: {w.Description}")) + ".");
        sb.AppendLine(Orchestrator.Inv($"Windows: W1 {Window("W1")}, W2 {Window("W2")}, W3 {Window("W3")}, W5 {Window("W5")}; W4 measures CPU for {plan.Workloads.First(w => w.Name == "W4").WindowMs / 1000:0} s after {plan.Workloads.First(w => w.Name == "W4").SettleMs / 1000:0} s of settling."));
        sb.AppendLine();
        sb.Append(Tables());
        sb.AppendLine();
        sb.AppendLine("## Plots");
        sb.AppendLine();
        foreach (var w in plan.Workloads.Where(w => w.Mode == "run"))
            sb.AppendLine($"![Lateness distribution, {w.Name}](benchmarks/lateness-{w.Name}.png)");
        sb.AppendLine();
        sb.AppendLine("![Runs delivered over runs demanded](benchmarks/delivered.png)");
        sb.AppendLine();
        sb.AppendLine("![Sweep: runs delivered per second against runs demanded per second](benchmarks/sweep.png)");
        sb.AppendLine();
        sb.AppendLine(ReportMethod.Text);
        return sb.ToString();
    }

    private string Window(string name)
    {
        var w = plan.Workloads.First(x => x.Name == name);
        var trials = w.Trials > 1 ? Orchestrator.Inv($" ({w.Trials} trials per engine)") : "";
        return Orchestrator.Inv($"{w.WindowMs / 1000:0} s after {w.SettleMs / 1000:0} s of warm-up{trials}");
    }

    /// <summary>Second runs of one occurrence, or "n/a" for an engine that gives its runs no occurrence id.</summary>
    internal static string SecondRuns(WorkerResult r) =>
        r.SecondRuns is { } n ? n.ToString("N0", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>" (trials a / b / c)" after the p99 of a workload run more than once (the row is the median trial).</summary>
    private static string Trials(WorkerResult r) =>
        r.TrialP99Ms.Length > 1 ? " (trials " + string.Join(" / ", r.TrialP99Ms.Select(p => Orchestrator.Inv($"{p:0.00}"))) + ")" : "";

    private static string MedianOf(WorkerResult r) =>
        r.TrialP99Ms.Length > 1 ? Orchestrator.Inv($"; median of {r.TrialP99Ms.Length} trials") : "";

    private static string FromMedianTrial(WorkerResult r) =>
        r.TrialP99Ms.Length > 1 ? Orchestrator.Inv($"; the trial with the median p99 of {r.TrialP99Ms.Length}") : "";

    /// <summary>The p99 of every trial in the order run, or the one p99 of a workload run once.</summary>
    private static double[] TrialsOf(WorkerResult r) => r.TrialP99Ms.Length > 0 ? r.TrialP99Ms : [r.P99Ms];

    /// <summary>
    /// An engine's p99 over Quartz's, trial by trial: trial i of every engine ran in the same round (the round's order
    /// of engines alternates), and a failed trial is NaN. Null when the engines ran different numbers of trials.
    /// </summary>
    private static double[]? TrialRatios(WorkerResult r, WorkerResult quartz)
    {
        var mine = TrialsOf(r);
        var theirs = TrialsOf(quartz);
        return mine.Length == theirs.Length ? mine.Zip(theirs, (a, b) => a / b).ToArray() : null;
    }

    private static double? Ratio(double? a, double? b) => a / b is { } r && double.IsFinite(r) ? r : null;

    private static string? Format(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture);

    private static string Join(IEnumerable<double> values, string format) =>
        string.Join(" / ", values.Select(v => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a"));

    private static bool Ok(WorkerResult? r) => r is { Error: null };
}
