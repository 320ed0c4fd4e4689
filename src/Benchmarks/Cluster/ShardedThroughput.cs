using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using ActorScheduler.Benchmarks.Harness;
using ActorScheduler.Testing.Support;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using static ActorScheduler.Benchmarks.Harness.Orchestrator;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// Sharded throughput: 10,000 cluster tasks every 1 s with actor-scheduler.cluster.distribution = sharded on a cluster
/// of three ActorSystems in one worker process (remoting over 127.0.0.1 between them, as between processes), measured
/// for 60 s once the buckets are spread; beside it, the same 10,000 tasks node-scoped on one ActorSystem (a cluster of
/// one node) and node-scoped on the same three nodes (a third on each), and one node and three with 30 tasks, for their
/// fixed cost. Three ActorSystems share one process so that the body can count every run in memory and one process's
/// CPU time covers the whole cluster: three host processes would have to report 20,000 events a second through their
/// event files, costing more CPU than the runs they report. Worker modes "sharded", "node-scoped" and "node-scoped-3".
/// </summary>
internal static class ShardedThroughput
{
    public const string Sharded = "sharded";
    public const string NodeScoped = "node-scoped";
    public const string NodeScopedOnThree = "node-scoped-3";
    private const string SetName = "bench";
    private const int FixedCostTasks = 30;

    public static async Task<string> RunAsync(string[] args)
    {
        if (!Failover.ShardedAvailable)
            return "not run: sharded cluster tasks (actor-scheduler.cluster.distribution = sharded) are not in this build.";
        var tasks = int.Parse(OptionValue(args, "--tasks") ?? "10000", CultureInfo.InvariantCulture);
        var windowMs = double.Parse(OptionValue(args, "--window") ?? "60000", CultureInfo.InvariantCulture);
        var results = new List<WorkerResult>();
        // The last two: 30 tasks, for the fixed cost of one ActorSystem and of three in a cluster.
        foreach (var (mode, n) in new[]
                 {
                     (NodeScoped, tasks), (NodeScopedOnThree, tasks), (Sharded, tasks), (NodeScoped, FixedCostTasks), (Sharded, FixedCostTasks),
                 })
        {
            var result = await RunWorkerAsync(new WorkerArgs(
                Engines.EngineNames.ActorScheduler, mode, mode, n, 1_000, windowMs, 60_000, -1, Plan.Workers)).ConfigureAwait(false);
            results.Add(result);
            Console.WriteLine(result.Error is not null
                ? $"  {mode}: ERROR {result.Error}"
                : Inv($"  {mode,-11} {n,6:N0} tasks  runs {result.DeliveredRatio * 100:0.000}% of due times  gaps >= 1.5 T {result.Missed:N0}, < T/2 {result.OffGrid:N0}  CPU {PerRun(result):0.0} µs/run  settled after {result.StartMs / 1000:0.0} s"));
        }

        return Table(results, tasks, windowMs);
    }

    private static string Table(IReadOnlyList<WorkerResult> results, int tasks, double windowMs)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"{tasks:N0} tasks every 1 s, {windowMs / 1000:0} s measured once the cluster settled; sharded: 3 ActorSystems in one process (cluster over 127.0.0.1), actor-scheduler.cluster.shards = 30 (default); node-scoped: 1 ActorSystem, a cluster of one; node-scoped-3: the same 3 ActorSystems as sharded, each running a third of the tasks node-scoped. CPU per run: the whole process's CPU over the window over runs delivered."));
        sb.AppendLine();
        sb.AppendLine("Runs / due times: a task has at most one run per due time, so this is the share delivered. Gaps between two runs of a task: one of 1.5 s or more is a due time passed over or a run over 0.5 s late (then the next gap is under 0.5 s).");
        sb.AppendLine();
        sb.AppendLine("| Distribution | Tasks | Runs / due times | Gaps >= 1.5 s | Gaps < 0.5 s | CPU per run (µs) | CPU (% of a core) | Settled after (s) |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            sb.AppendLine(r.Error is not null
                ? Inv($"| {r.Mode} | {r.Tasks:N0} | error: {r.Error} | | | | | |")
                : Inv($"| {r.Mode} | {r.Tasks:N0} | {r.Delivered:N0} / {r.Demanded:N0} ({r.DeliveredRatio * 100:0.000}%) | {r.Missed:N0} | {r.OffGrid:N0} | {PerRun(r):0.0} | {r.CpuPercentOfCore:0.0} | {r.StartMs / 1000:0.0} |"));
        }

        var (node, nodeOnThree, sharded, nodeIdle, shardedIdle) = (results[0], results[1], results[2], results[3], results[4]);
        if (sharded.Error is null)
        {
            sb.AppendLine();
            sb.AppendLine(Inv($"Sharded runs {sharded.DeliveredRatio * 100:0.000}% of due times (target >= 99.9%: {(sharded.DeliveredRatio >= 0.999 ? "PASS" : "FAIL")})."));
            if (nodeOnThree.Error is null)
            {
                var ratio = PerRun(sharded) / PerRun(nodeOnThree);
                sb.AppendLine(Inv($"Sharded over node-scoped on the same three nodes, CPU per run: {ratio:0.00} (target <= 1.5: {(ratio <= 1.5 ? "PASS" : "FAIL")})."));
            }

            if (node.Error is null)
                sb.AppendLine(Inv($"Sharded on three nodes over node-scoped on one, CPU per run: {PerRun(sharded) / PerRun(node):0.00} (each node's gossip, heartbeats and threads included)."));
            if (node.Error is null && nodeIdle.Error is null && shardedIdle.Error is null)
            {
                // CPU beyond each side's fixed cost (its 30-task run's CPU per second), per run.
                static double Net(WorkerResult r, WorkerResult idle) =>
                    (r.CpuSeconds - idle.CpuSeconds / idle.WallSeconds * r.WallSeconds) / r.Delivered * 1e6;
                var one = Net(node, nodeIdle);
                var three = Net(sharded, shardedIdle);
                sb.AppendLine(Inv($"Less each side's fixed cost (its CPU with {FixedCostTasks} tasks: one ActorSystem {nodeIdle.CpuPercentOfCore:0.0}%, three {shardedIdle.CpuPercentOfCore:0.0}% of a core): node-scoped on one {one:0.0} µs per run, sharded {three:0.0} µs per run, ratio {three / one:0.00}."));
            }
        }

        return sb.ToString();
    }

    private static double PerRun(WorkerResult r) => r.Delivered == 0 ? double.NaN : r.CpuSeconds / r.Delivered * 1e6;

    /// <summary>The worker: starts the ActorSystems, waits for the cluster to settle, measures the window.</summary>
    public static async Task<WorkerResult> MeasureAsync(WorkerArgs a)
    {
        var sharded = a.Mode == Sharded;
        var count = a.Mode == NodeScoped ? 1 : 3;
        var period = TimeSpan.FromMilliseconds(a.PeriodMs);
        var recorder = new ThroughputRecorder(a.Tasks, period);
        var ports = FreePorts.Take(count);
        var systems = new List<ActorSystem>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var system = ActorSystem.Create("bench", Config(ports[i], ports[0], sharded, period));
            systems.Add(system);
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
            // Cluster tasks: every node declares them all. Node-scoped on three: each node runs its third.
            system.StartClusterPeriodicTasks(Set(a.Tasks, sharded, period, recorder, sharded ? null : (i, count)), stopOnCoordinatedShutdown: false);
            await up.Task.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false); // in order, so that node 0 is the oldest
        }

        await SettleAsync(systems, sharded, recorder, a, clock).ConfigureAwait(false);
        var settled = clock.Elapsed;

        // The window opens half a period after a run: node-scoped tasks share one phase, so its edges fall between ticks.
        var seen = recorder.Total;
        while (recorder.Total == seen)
            await Task.Delay(5).ConfigureAwait(false);
        await Task.Delay(period / 2).ConfigureAwait(false);
        var cpu0 = CpuTime();
        var t0 = Stopwatch.GetTimestamp();
        var window = TimeSpan.FromMilliseconds(a.WindowMs);
        recorder.Window(t0, t0 + (long)(window.TotalSeconds * Stopwatch.Frequency));
        await Task.Delay(window + TimeSpan.FromMilliseconds(200)).ConfigureAwait(false);
        var cpu = (CpuTime() - cpu0).TotalSeconds;
        var wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return new WorkerResult
        {
            Engine = a.Engine, Mode = a.Mode, Label = a.Label, Tasks = a.Tasks, PeriodMs = a.PeriodMs, WindowMs = a.WindowMs,
            Demanded = (long)(a.Tasks * (window / period)), Delivered = recorder.Runs,
            OffGrid = recorder.ShortGaps, Missed = recorder.LongGaps, CpuSeconds = cpu, WallSeconds = wall,
            StartMs = settled.TotalMilliseconds,
        };
    }

    /// <summary>
    /// Settled: every task has run (the whole set is running), and with sharding the buckets are spread over the three
    /// nodes (no node with more than one bucket above an even share, the same spread for 3 s), at most SettleMs.
    /// </summary>
    private static async Task SettleAsync(List<ActorSystem> systems, bool sharded, ThroughputRecorder recorder, WorkerArgs a, Stopwatch clock)
    {
        var limit = clock.Elapsed + TimeSpan.FromMilliseconds(a.SettleMs);
        IActorRef? region = null;
        string? last = null;
        var sameSince = clock.Elapsed;
        while (clock.Elapsed < limit)
        {
            await Task.Delay(1_000).ConfigureAwait(false);
            if (recorder.Total < a.Tasks * 2L)
                continue;
            if (!sharded)
                return;
            try
            {
                region ??= ClusterSharding.Get(systems[0]).ShardRegion(ClusterPeriodicTasks.SingletonManagerName(SetName, ""));
            }
            catch (ArgumentException)
            {
                continue; // the region is started asynchronously
            }

            var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(3)), TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            var counts = stats.Regions.Values.Select(r => r.Stats.Count).OrderDescending().ToList();
            var spread = string.Join(",", counts);
            Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} buckets per node: {spread}");
            var total = counts.Sum();
            if (counts.Count < systems.Count || counts[0] > (total + systems.Count - 1) / systems.Count + 1)
            {
                last = null;
                continue;
            }

            if (spread != last)
            {
                last = spread;
                sameSince = clock.Elapsed;
            }
            else if (clock.Elapsed - sameSince >= TimeSpan.FromSeconds(3))
            {
                return;
            }
        }

        throw new TimeoutException($"the cluster did not settle within {a.SettleMs / 1000:0} s");
    }

    private static PeriodicTaskSet Set(int tasks, bool cluster, TimeSpan period, ThroughputRecorder recorder, (int Node, int Nodes)? share)
    {
        var options = new PeriodicTaskOptions { Spacing = period, Scope = cluster ? TaskScope.Cluster : TaskScope.Node };
        var set = new PeriodicTaskSet(SetName);
        for (var i = 0; i < tasks; i++)
        {
            if (share is { } s && i % s.Nodes != s.Node)
                continue;
            var index = i;
            set.Add("t" + i, (_, _) =>
            {
                recorder.Record(index);
                return ValueTask.CompletedTask;
            }, options);
        }

        return set;
    }

    private static Config Config(int port, int seed, bool sharded, TimeSpan period) =>
        ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              stdout-loglevel = WARNING
              log-dead-letters = off
              coordinated-shutdown.run-by-clr-shutdown-hook = off
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
              cluster {
                seed-nodes = ["akka.tcp://bench@127.0.0.1:{{seed}}"]
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
              }
            }
            actor-scheduler {
              periodic-interval = {{(long)period.TotalMilliseconds}}ms
              cluster.distribution = {{(sharded ? "sharded" : "singleton")}}
            }
            """).WithFallback(StateSerialization.Config).WithFallback(PeriodicTaskSettings.DefaultConfig());

    private static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }
}
