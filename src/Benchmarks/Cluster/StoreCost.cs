using System.Globalization;
using System.Text;
using ActorScheduler.Benchmarks.Engines;
using ActorScheduler.Benchmarks.Harness;
using static ActorScheduler.Benchmarks.Harness.Orchestrator;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// The cost of a state store, and of journaling a cluster task's start before its run begins: W1 (1,000 tasks every 100 ms, 10,000 runs/s), and
/// a tenth of it (100 tasks, 1,000 runs/s; --tasks chooses), for ActorScheduler without a state store, then with SQLite (a temp file) and, when ACTOR_SCHEDULER_TEST_PG is set
/// (source .ci/postgres.sh), PostgreSQL, each with cluster tasks (on a cluster of one node) and node tasks and the snapshot intervals asked for. Every variant is a worker process
/// of the regular harness (same body, warm-up, window and lateness rule as W1), run in alternating order per trial.
/// </summary>
internal static class StoreCost
{
    public static async Task<string> RunAsync(string[] args)
    {
        var trials = int.Parse(OptionValue(args, "--trials") ?? "2", CultureInfo.InvariantCulture);
        var every = (OptionValue(args, "--snapshot-every") ?? "100,1000")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToList();
        var windowMs = double.Parse(OptionValue(args, "--window") ?? "12000", CultureInfo.InvariantCulture);
        var kinds = (OptionValue(args, "--stores") ?? "sqlite,postgres").Split(',', StringSplitOptions.TrimEntries).ToList();
        if (kinds.Contains(StateStoreVariant.Postgres) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(StateStoreVariant.PostgresVariable)))
        {
            kinds.Remove(StateStoreVariant.Postgres);
            Console.WriteLine($"  ({StateStoreVariant.PostgresVariable} is not set: PostgreSQL is left out; `source .ci/postgres.sh` starts a server)");
        }

        // --run-history on,off: each store variant with state.run-history = on (the default) and off (the history in memory).
        var histories = (OptionValue(args, "--run-history") ?? "on").Split(',', StringSplitOptions.TrimEntries).Select(h => h switch
        {
            "on" => true,
            "off" => false,
            _ => throw new ArgumentException($"--run-history: \"{h}\" is not on or off."),
        }).ToList();

        var scopes = (OptionValue(args, "--scopes") ?? "cluster,node").Split(',', StringSplitOptions.TrimEntries).Select(s => s == "cluster").ToList();
        List<string> engines =
        [
            EngineNames.ActorScheduler,
            .. scopes.SelectMany(cluster => kinds.SelectMany(k => histories.SelectMany(h => every.Select(n => new StateStoreVariant(k, n, cluster, h).EngineName)))),
        ];
        var tables = new StringBuilder();
        foreach (var tasks in (OptionValue(args, "--tasks") ?? "1000,100").Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)))
        {
            var name = tasks == 1_000 ? "W1" : Inv($"{tasks}x100ms");
            var workload = new Workload(name, Inv($"{tasks:N0} tasks every 100 ms ({tasks * 10:N0} runs/s)"), "run", tasks, 100, windowMs, 6_000, -1, engines, trials);
            tables.AppendLine(await RunWorkloadAsync(workload).ConfigureAwait(false));
        }

        return tables.ToString();
    }

    private static async Task<string> RunWorkloadAsync(Workload workload)
    {
        var engines = workload.Engines;
        var trials = workload.Trials;
        var runs = engines.ToDictionary(e => e, _ => new List<WorkerResult>());
        for (var trial = 0; trial < trials; trial++)
        {
            var order = trial % 2 == 0 ? engines : Enumerable.Reverse(engines).ToList();
            foreach (var engine in order)
            {
                var result = await RunWorkerAsync(new WorkerArgs(
                    engine, workload.Mode, workload.Name, workload.Tasks, workload.PeriodMs, workload.WindowMs, workload.SettleMs, -1, Plan.Workers)).ConfigureAwait(false);
                runs[engine].Add(result);
                Console.WriteLine($"  {workload.Name}#{trial + 1} {EngineNames.Display(engine),-49} {Summary(result)}");
            }
        }

        var kept = engines.Select(e => Median(runs[e])).ToList();
        return Table(workload, kept, trials);
    }

    private static string Table(Workload w, IReadOnlyList<WorkerResult> results, int trials)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"{w.Name}: {w.Description}, {w.WindowMs / 1000:0} s measured after {w.SettleMs / 1000:0} s of warm-up; the trial with the median p99 of {trials} (p99 of every trial in brackets)."));
        sb.AppendLine("CPU per run: the worker's process CPU over the window over runs delivered; server CPU: the PostgreSQL server's processes over the same window.");
        sb.AppendLine();
        sb.AppendLine("| Variant | Delivered / demanded | p50 (ms) | p99 (ms) | max (ms) | CPU per run (µs) | Server CPU per run (µs) | Schedule start (ms) |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            if (r.Error is not null)
            {
                sb.AppendLine($"| {EngineNames.Display(r.Engine)} | error: {r.Error} | | | | | | |");
                continue;
            }

            var server = StateStoreVariant.Parse(r.Engine)?.Kind == StateStoreVariant.Postgres ? Inv($"{PerRun(r.ServerCpuSeconds, r):0.0}") : "-";
            var trialP99 = r.TrialP99Ms.Length > 1 ? " (" + string.Join(" / ", r.TrialP99Ms.Select(p => Inv($"{p:0.00}"))) + ")" : "";
            sb.AppendLine(Inv($"| {EngineNames.Display(r.Engine)} | {r.Delivered:N0} / {r.Demanded:N0} ({r.DeliveredRatio * 100:0.00}%) | {r.P50Ms:0.00} | {r.P99Ms:0.00}{trialP99} | {r.MaxMs:0.0} | {PerRun(r.CpuSeconds, r):0.0} | {server} | {r.ScheduleStartMs:0} |"));
        }

        var baseline = results[0];
        if (baseline.Error is null)
        {
            sb.AppendLine();
            sb.AppendLine("Ratios, store / no store (CPU: the worker's, and with the server's added for PostgreSQL):");
            sb.AppendLine();
            sb.AppendLine("| Variant | Delivered | p50 | p99 | CPU per run | CPU per run with server |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var r in results.Skip(1).Where(r => r.Error is null))
            {
                var cpu = PerRun(r.CpuSeconds, r) / PerRun(baseline.CpuSeconds, baseline);
                var withServer = (PerRun(r.CpuSeconds, r) + PerRun(r.ServerCpuSeconds, r)) / PerRun(baseline.CpuSeconds, baseline);
                sb.AppendLine(Inv($"| {EngineNames.Display(r.Engine)} | {r.DeliveredRatio / baseline.DeliveredRatio:0.000} | {r.P50Ms / baseline.P50Ms:0.00} | {r.P99Ms / baseline.P99Ms:0.00} | {cpu:0.00} | {(r.ServerCpuSeconds > 0 ? Inv($"{withServer:0.00}") : "-")} |"));
            }
        }

        return sb.ToString();
    }

    /// <summary>Microseconds per run delivered.</summary>
    private static double PerRun(double seconds, WorkerResult r) => r.Delivered == 0 ? double.NaN : seconds / r.Delivered * 1e6;
}
