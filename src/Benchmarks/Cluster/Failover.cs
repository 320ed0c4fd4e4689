using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorScheduler.Benchmarks.Harness;
using ActorScheduler.Testing.Support;
using static ActorScheduler.Benchmarks.Harness.Orchestrator;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// Fail-over time: three console host processes on 127.0.0.1 form a cluster (seed nodes, keep-majority with
/// split-brain-resolver.stable-after = 5s, the rest the packages' defaults) with six cluster tasks due every 1 s;
/// the node that runs job-0 is killed with SIGKILL, and the figure is the time from the kill to job-0's first start on
/// a survivor (from the survivors' --events files; one clock, one machine). The killed node is then started again and,
/// once the cluster is whole and job-0's owner settled, the next repetition kills job-0's owner again.
/// </summary>
internal static class Failover
{
    private const string Target = "job-0";
    private const int Tasks = 6;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(45);

    /// <summary>
    /// Waited after the newest node answers /readyz: its Up status must reach every node by gossip (1 s rounds) before a
    /// kill, or a survivor that still sees it Joining counts one against one and keep-majority keeps the side with the
    /// lowest address, which may be the killed node's: the survivors then down themselves.
    /// </summary>
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(4);

    /// <summary>A variant: its name, the task distribution, and the state store's body (null: none).</summary>
    private sealed record Variant(string Name, string Distribution, string? Store, string? RemovalMargin);

    /// <summary>
    /// One repetition: the fail-over of job-0, the time until every task the killed node ran had started elsewhere, and
    /// when the survivors' log first said the killed node was unreachable, downed and removed (after the kill).
    /// </summary>
    private sealed record Sample(TimeSpan? Target, TimeSpan? All, int Tasks, TimeSpan? Unreachable, TimeSpan? Downed, TimeSpan? Removed);

    /// <summary>What Akka.Cluster logs (INFO and WARNING) at each phase, on a survivor.</summary>
    private static readonly (string Phase, string[] Marks)[] Phases =
    [
        ("unreachable", ["as UNREACHABLE"]),
        ("downed", ["SBR took decision", "is downing"]),
        ("removed", ["removing unreachable node", "is removing"]),
    ];

    /// <summary>Sharded cluster tasks are there when the cluster package has them (actor-scheduler.cluster.distribution = sharded).</summary>
    public static bool ShardedAvailable =>
        typeof(ActorScheduler.Cluster.ClusterPeriodicTasks).Assembly.GetType("ActorScheduler.Cluster.ShardedTasks") is not null;

    public static async Task<string> RunAsync(string[] args)
    {
        var repeats = int.Parse(OptionValue(args, "--repeats") ?? "3", CultureInfo.InvariantCulture);
        var dll = HostNode.HostDll(RepositoryRoot());
        if (!File.Exists(dll))
            return $"not run: {dll} is missing (build it first: dotnet build src/Host -c Release)";
        // --down-removal-margin D: akka.cluster.down-removal-margin = D in each node's file (else the host's 1 ms with a lease).
        var margin = OptionValue(args, "--down-removal-margin");
        var suffix = margin is null ? "" : $", down-removal-margin {margin}";
        // PostgreSQL with --postgres CONNECTION-STRING or ACTOR_SCHEDULER_TEST_PG (`source .ci/postgres.sh` sets it).
        var postgres = OptionValue(args, "--postgres") ?? Environment.GetEnvironmentVariable("ACTOR_SCHEDULER_TEST_PG");
        (string Name, string? Store)[] stores =
        [
            ("no state", null),
            ("SQLite state", "sqlite"),
            .. string.IsNullOrEmpty(postgres) ? Array.Empty<(string, string?)>() : [("PostgreSQL state", PostgresStore(postgres))],
        ];
        if (string.IsNullOrEmpty(postgres))
            Console.WriteLine("  (no PostgreSQL: --postgres CONNECTION-STRING or ACTOR_SCHEDULER_TEST_PG adds its variants)");
        var distributions = ShardedAvailable ? new[] { "singleton", "sharded" } : ["singleton"];
        var variants = distributions.SelectMany(d => stores.Select(st => new Variant($"{d}, {st.Name}{suffix}", d, st.Store, margin))).ToList();
        if (OptionValue(args, "--variant") is { } only) // e.g. --variant "sharded, SQLite"
            variants = variants.Where(v => v.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).ToList();

        var results = new List<(Variant Variant, List<Sample> Samples, string? Error)>();
        foreach (var variant in variants)
        {
            var samples = new List<Sample>();
            string? error = null;
            try
            {
                await RunVariantAsync(dll, variant, repeats, samples).ConfigureAwait(false);
            }
            catch (FailoverException e)
            {
                error = e.Message;
                Console.WriteLine($"  {variant.Name}: {e.Message}");
                if (e.Output is not null)
                    Console.Error.WriteLine(e.Output);
            }

            results.Add((variant, samples, error));
        }

        return Table(results, repeats);
    }

    private static async Task RunVariantAsync(string dll, Variant variant, int repeats, List<Sample> samples)
    {
        var dir = Directory.CreateTempSubdirectory("actor-scheduler-failover-");
        var nodes = new HostNode?[3];
        var incarnations = new int[3];
        var ports = FreePorts.Take(6);
        try
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < 3; i++)
            {
                nodes[i] = StartNode(dll, dir.FullName, variant, ports, i, incarnations[i]++);
                await WaitAsync(() => nodes[i]!.ReadyAsync(), $"node {i} is Up", nodes).ConfigureAwait(false);
            }

            await Task.Delay(Converge).ConfigureAwait(false);

            Console.WriteLine(Inv($"  {variant.Name}: 3 nodes Up after {clock.Elapsed.TotalSeconds:0.0} s"));
            for (var repeat = 0; repeat < repeats; repeat++)
            {
                var owner = await SettledOwnerAsync(nodes).ConfigureAwait(false);
                var victim = nodes[owner]!;
                // Every task whose last start was on the victim (with sharding, the victim's buckets).
                var its = Enumerable.Range(0, Tasks).Select(t => "job-" + t)
                    .Where(t => LastStart(nodes, t) is { Node: var n } && n == owner).ToList();
                var killedAt = DateTimeOffset.UtcNow;
                victim.Kill();
                var survivors = nodes.Where(n => n is not null && n != victim).Select(n => n!).ToList();

                TimeSpan? target = null, all = null;
                var waited = Stopwatch.StartNew();
                while (waited.Elapsed < Limit && (target is null || all is null))
                {
                    await Task.Delay(100).ConfigureAwait(false);
                    target ??= FirstStartAfter(survivors, Target, killedAt) - killedAt;
                    var resumed = its.Select(t => FirstStartAfter(survivors, t, killedAt)).ToList();
                    if (all is null && resumed.All(r => r is not null))
                        all = resumed.Max() - killedAt;
                }

                var phases = Phases.Select(p => PhaseAt(survivors, p.Marks, killedAt)).ToList();
                samples.Add(new Sample(target, all, its.Count, phases[0], phases[1], phases[2]));
                Console.WriteLine(Inv($"  {variant.Name} #{repeat + 1}: killed node {owner}; {Target} started on a survivor {Seconds(target)} after SIGKILL, all {its.Count} of its tasks after {Seconds(all)} (unreachable {Seconds(phases[0])}, downed {Seconds(phases[1])}, removed {Seconds(phases[2])})"));
                victim.Dispose();
                nodes[owner] = null;
                if (target is null)
                    throw new FailoverException($"{Target} did not start on a survivor within {Limit.TotalSeconds:0} s of the kill", Outputs(nodes));
                if (repeat == repeats - 1)
                    break;

                // The killed node comes back (same ports, a new incarnation) and the cluster is whole again.
                nodes[owner] = StartNode(dll, dir.FullName, variant, ports, owner, incarnations[owner]++);
                await WaitAsync(() => nodes[owner]!.ReadyAsync(), $"node {owner} is Up again", nodes).ConfigureAwait(false);
                await Task.Delay(Converge).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var node in nodes)
                node?.Dispose(); // killed: a graceful leave of three nodes would add seconds to every variant
            await Task.Delay(500).ConfigureAwait(false);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The node that runs job-0 once it has settled there: its last three starts on one node, the latest within the
    /// last 1.5 s (after a node joins, sharding may move buckets to it for a few seconds).
    /// </summary>
    private static async Task<int> SettledOwnerAsync(HostNode?[] nodes)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var now = DateTimeOffset.UtcNow;
            var starts = nodes.Select((n, i) => (n, i)).Where(p => p.n is not null)
                .SelectMany(p => p.n!.Starts(Target).Select(t => (Time: t, Node: p.i))).OrderBy(s => s.Time).ToList();
            if (starts.Count >= 3 && now - starts[^1].Time < TimeSpan.FromSeconds(1.5) && starts[^3..].All(s => s.Node == starts[^1].Node))
                return starts[^1].Node;
            if (waited.Elapsed > Limit)
                throw new FailoverException($"{Target} did not settle on a node within {Limit.TotalSeconds:0} s", Outputs(nodes));
            await Task.Delay(200).ConfigureAwait(false);
        }
    }

    /// <summary>The first line of a survivor's log after the kill with one of <paramref name="marks"/>, as time since the kill.</summary>
    private static TimeSpan? PhaseAt(IEnumerable<HostNode> survivors, string[] marks, DateTimeOffset killedAt)
    {
        TimeSpan? first = null;
        var day = killedAt.UtcDateTime.Date;
        foreach (var node in survivors)
        {
            foreach (var line in node.Output.Split('\n'))
            {
                if (line.Length < 13 || !marks.Any(m => line.Contains(m, StringComparison.Ordinal)) ||
                    !TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture, out var time))
                    continue;
                var at = new DateTimeOffset(day + time, TimeSpan.Zero); // the host logs local time: UTC on this machine
                if (at < killedAt - TimeSpan.FromHours(12))
                    at = at.AddDays(1);
                if (at > killedAt && (first is null || at - killedAt < first))
                    first = at - killedAt;
            }
        }

        return first;
    }

    private static (DateTimeOffset Time, int Node)? LastStart(HostNode?[] nodes, string task) =>
        nodes.Select((n, i) => (n, i)).Where(p => p.n is not null)
            .SelectMany(p => p.n!.Starts(task).Select(t => (Time: t, Node: p.i)))
            .OrderBy(s => s.Time).Cast<(DateTimeOffset, int)?>().LastOrDefault();

    private static DateTimeOffset? FirstStartAfter(IEnumerable<HostNode> nodes, string task, DateTimeOffset after) =>
        nodes.SelectMany(n => n.Starts(task)).Where(t => t > after).Order().Cast<DateTimeOffset?>().FirstOrDefault();

    private static HostNode StartNode(string dll, string dir, Variant variant, int[] ports, int node, int incarnation)
    {
        var config = Path.Combine(dir, $"node-{node}.conf");
        // A set of its own per variant run (the temp directory's random suffix): its journal and its lease in a shared database.
        var setName = "failover-" + Path.GetFileName(dir).Split('-')[^1];
        File.WriteAllText(config, NodeConfig(dir, setName, variant, ports[node], ports[0], ports[1]));
        return HostNode.Start(dll, node, config, Path.Combine(dir, $"events-{node}-{incarnation}.jsonl"), ports[3 + node], dir);
    }

    /// <summary>
    /// A node's file as a user writes it: seed nodes, the split brain resolver's strategy and stable-after 5 s, the state
    /// store; every other cluster timing is what the cluster package and the host ship (hocon/cluster-reference.conf).
    /// Ticks every 200 ms, so a task due every 1 s starts within 200 ms of its due time.
    /// </summary>
    private static string NodeConfig(string dir, string setName, Variant variant, int port, int seed1, int seed2)
    {
        var tasks = new StringBuilder();
        for (var t = 0; t < Tasks; t++)
            tasks.AppendLine(CultureInfo.InvariantCulture, $"    job-{t} {{ command = \"true\", spacing = 1s, scope = cluster }}");
        var state = variant.Store switch
        {
            null => "state.store = none",
            "sqlite" => $"state {{ store = sql, provider = \"SQLite.MS\", connection-string = \"Data Source={Path.Combine(dir, "state.db")}\" }}",
            var store => store,
        };
        return $$"""
            actor-scheduler-host.set-name = {{setName}}
            akka {
              loglevel = INFO # the survivors' log gives the phases of a fail-over
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
              cluster {
                seed-nodes = ["akka.tcp://actor-scheduler@127.0.0.1:{{seed1}}", "akka.tcp://actor-scheduler@127.0.0.1:{{seed2}}"]
                # what a user writes: the resolver's strategy and stable-after; the other timings are the packages' defaults
                split-brain-resolver { active-strategy = keep-majority, stable-after = 5s }
                {{(variant.RemovalMargin is { } margin ? $"down-removal-margin = {margin}" : "")}}
              }
            }
            actor-scheduler {
              periodic-interval = 200ms
              shutdown-timeout = 2s
              cluster.distribution = {{variant.Distribution}}
              {{state}}
              tasks {
            {{tasks}}  }
            }
            """;
    }

    private static string PostgresStore(string connectionString) =>
        $"state {{ store = sql, provider = \"PostgreSQL\", connection-string = \"{connectionString.Replace("\\", "\\\\").Replace("\"", "\\\"")}\" }}";

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, HostNode?[] nodes)
    {
        var waited = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (nodes.Any(n => n is { HasExited: true }))
                throw new FailoverException($"a node exited before: {what}", Outputs(nodes));
            if (waited.Elapsed > TimeSpan.FromSeconds(60))
                throw new FailoverException($"not within 60 s: {what}", Outputs(nodes));
            await Task.Delay(200).ConfigureAwait(false);
        }
    }

    private static string Outputs(HostNode?[] nodes) =>
        string.Join("\n", nodes.Where(n => n is not null).Select(n => $"--- node {n!.Index}:\n{n.Output}"));

    private static string Table(IReadOnlyList<(Variant Variant, List<Sample> Samples, string? Error)> results, int repeats)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"Three host processes, {Tasks} cluster tasks every 1 s (ticks every 200 ms), configurations that set only the seed nodes, keep-majority with stable-after = 5s and the store (every other timing the packages' defaults: acceptable-heartbeat-pause = 1.5s, heartbeat-interval and gossip-interval = 500ms, unreachable-nodes-reaper-interval and leader-actions-interval = 250ms, no down-removal-margin: a lease keeps the owners apart, in the store's database or, without one, from the membership); SIGKILL of the node running {Target}, {repeats} times per variant (the killed node restarted between repetitions). Goal: worst under 10 s."));
        sb.AppendLine();
        sb.AppendLine("| Variant | Fail-over of job-0, min / median / max (s) | Each repetition (s) | All the killed node's tasks, median (s) | Unreachable / downed / removed, median (s) | worst < 10 s |");
        sb.AppendLine("|---|---:|---|---:|---:|---|");
        foreach (var (variant, samples, error) in results)
        {
            var times = samples.Where(s => s.Target is not null).Select(s => s.Target!.Value.TotalSeconds).ToList();
            var all = samples.Where(s => s.All is not null).Select(s => s.All!.Value.TotalSeconds).ToList();
            var each = string.Join(" / ", samples.Select(s => Seconds(s.Target, unit: false)));
            var cell = times.Count == 0 ? "no result" : Inv($"{times.Min():0.0} / {Median(times):0.0} / {times.Max():0.0}");
            var pass = error is not null ? "error: " + error : times.Count == samples.Count && times.All(t => t < 10) ? "yes" : "no";
            var allCell = all.Count == 0 ? "-" : Inv($"{Median(all):0.0} ({string.Join(", ", samples.Select(s => s.Tasks))} tasks)");
            var phases = string.Join(" / ", new Func<Sample, TimeSpan?>[] { x => x.Unreachable, x => x.Downed, x => x.Removed }
                .Select(f => samples.Select(f).Where(t => t is not null).Select(t => t!.Value.TotalSeconds).ToList())
                .Select(v => v.Count == 0 ? "-" : Inv($"{Median(v):0.0}")));
            sb.AppendLine($"| {variant.Name} | {cell} | {each} | {allCell} | {phases} | {pass} |");
        }

        return sb.ToString();
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Seconds(TimeSpan? t, bool unit = true) =>
        t is { } v ? Inv($"{v.TotalSeconds:0.0}{(unit ? " s" : "")}") : Inv($"> {Limit.TotalSeconds:0}{(unit ? " s" : "")}");

    private sealed class FailoverException(string message, string? output) : Exception(message)
    {
        public string? Output { get; } = output;
    }
}
