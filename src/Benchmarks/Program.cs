using ActorScheduler.Benchmarks.Cluster;
using ActorScheduler.Benchmarks.Harness;

namespace ActorScheduler.Benchmarks;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--worker")
            return await Worker.RunAsync(WorkerArgs.Parse(args.Skip(1).ToList())).ConfigureAwait(false);
        if (args.Length > 0 && args[0] == "--micro")
        {
            BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args.Skip(1).ToArray());
            return 0;
        }

        if (args.Length > 0 && args[0] == "--hops")
            return await Hops.HopCosts.RunAsync(args.Skip(1).ToArray()).ConfigureAwait(false);

        if (args.Length > 0 && ClusterBenchmarks.Modes.Contains(args[0]))
            return await ClusterBenchmarks.RunAsync(args[0], args.Skip(1).ToArray()).ConfigureAwait(false);

        return await Orchestrator.RunAsync(args).ConfigureAwait(false);
    }
}
