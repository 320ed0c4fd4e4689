using System.Diagnostics;
using ActorScheduler.Benchmarks.Harness;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// The cluster benchmarks, each a named mode of this program (docs/benchmarks.md, "Cluster: fail-over, sharded
/// throughput, start recording"): store (the cost of journaling a run's start), failover (SIGKILL to the first run on
/// a survivor), sharded (sharded cluster tasks against node-scoped ones), cluster (all three); commands (command
/// tasks through the console host beside a plain Process.Start loop); and history (the run history's table with a
/// week of runs of 10,000 tasks). They print their tables and write no file.
/// </summary>
internal static class ClusterBenchmarks
{
    public static readonly IReadOnlyList<string> Modes = ["store", "failover", "sharded", "cluster", "commands", "history"];

    public static async Task<int> RunAsync(string mode, string[] args)
    {
        var run = SavedRun.Now(quick: false);
        var clock = Stopwatch.StartNew();
        var loadBefore = Orchestrator.LoadAverage();
        Console.WriteLine($"# ActorScheduler cluster benchmarks ({mode}): {run.Describe()}, {run.Machine}, load average {loadBefore}");
        var tables = new List<(string Title, string Table)>();
        if (mode is "store" or "cluster")
            tables.Add(("Cost of recording the start before the run", await StoreCost.RunAsync(args).ConfigureAwait(false)));
        if (mode is "failover" or "cluster")
            tables.Add(("Fail-over time", await Failover.RunAsync(args).ConfigureAwait(false)));
        if (mode is "sharded" or "cluster")
            tables.Add(("Sharded throughput", await ShardedThroughput.RunAsync(args).ConfigureAwait(false)));
        if (mode is "commands")
            tables.Add(("Command tasks through the console host", await CommandRate.RunAsync(args).ConfigureAwait(false)));
        if (mode is "history")
            tables.Add(("Run history in the state store's database", await HistoryCost.RunAsync(args).ConfigureAwait(false)));

        Console.WriteLine();
        foreach (var (title, table) in tables)
        {
            Console.WriteLine("## " + title);
            Console.WriteLine();
            Console.WriteLine(table);
        }

        Console.WriteLine($"Load average before: {loadBefore}; after: {Orchestrator.LoadAverage()}. Total time {clock.Elapsed.TotalSeconds:0} s.");
        return 0;
    }
}
