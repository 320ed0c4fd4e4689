using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// Three node processes (tests/Cluster.Node, a minimal program around StartClusterPeriodicTasks) that form a cluster
/// on 127.0.0.1 from their config files, with the oldest killed by SIGKILL. Failure detection and split brain
/// resolver timings are tuned for the test only (production values: hocon/cluster.conf).
/// </summary>
public sealed class ProcessClusterTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "actor-scheduler-nodes-" + Guid.NewGuid().ToString("N"));
    private readonly List<NodeProcess> _nodes = [];

    public ProcessClusterTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public async Task Three_node_processes_run_a_cluster_task_once_per_due_time_and_keep_doing_so_after_SIGKILL_of_the_oldest()
    {
        var ports = FreePorts(3);
        for (var i = 0; i < 3; i++)
            File.WriteAllText(ConfigPath(i), NodeConfig(ports[i], ports[0], ports[1]));

        _nodes.Add(NodeProcess.Start(NodeDll(), ConfigPath(0)));
        await TestCluster.WaitUntilAsync(() => _nodes[0].Has("UP"), Wait, "node 0 up");
        _nodes.Add(NodeProcess.Start(NodeDll(), ConfigPath(1)));
        _nodes.Add(NodeProcess.Start(NodeDll(), ConfigPath(2)));
        await TestCluster.WaitUntilAsync(() => _nodes.All(n => n.Has("UP")), Wait, "nodes 1 and 2 up");
        await TestCluster.WaitUntilAsync(() => _nodes[0].Started("cluster-job").Count >= 3 && _nodes.All(n => n.Started("node-job").Count > 0),
            Wait, "3 runs of cluster-job on the oldest node, node-job on every node");
        Assert.Empty(_nodes[1].Started("cluster-job").Concat(_nodes[2].Started("cluster-job")));

        var killedAt = DateTimeOffset.UtcNow;
        _nodes[0].Kill(); // SIGKILL
        await TestCluster.WaitUntilAsync(() => _nodes[1].Started("cluster-job").Count + _nodes[2].Started("cluster-job").Count >= 3,
            Wait, "3 runs of cluster-job after the kill");

        var survivors = _nodes.Skip(1).Where(n => n.Started("cluster-job").Count > 0).ToList();
        Assert.Single(survivors); // one new owner
        var resumed = survivors[0].Started("cluster-job").Min();
        Assert.True(resumed - killedAt < TimeSpan.FromSeconds(15), $"resumed {(resumed - killedAt).TotalSeconds:F1} s after the kill");
        Assert.Contains(survivors[0].Lines, l => l.StartsWith("missed cluster-job", StringComparison.Ordinal));

        // Never two runs at once across the processes: every run (start to end) ends before the next starts.
        var runs = _nodes.SelectMany(n => n.Runs("cluster-job", killedAt)).OrderBy(r => r.Start).ToList();
        for (var i = 1; i < runs.Count; i++)
            Assert.True(runs[i].Start >= runs[i - 1].End, $"run at {runs[i].Start:O} overlaps the run {runs[i - 1].Start:O}-{runs[i - 1].End:O}");
    }

    private string ConfigPath(int node) => Path.Combine(_directory, $"node-{node}.conf");

    private string NodeConfig(int port, int seed1, int seed2) => $$"""
        akka {
          loglevel = WARNING
          actor.provider = cluster
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
          cluster {
            seed-nodes = ["akka.tcp://actor-scheduler@127.0.0.1:{{seed1}}", "akka.tcp://actor-scheduler@127.0.0.1:{{seed2}}"]
            downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            # TEST-ONLY timings (production: hocon/cluster.conf).
            split-brain-resolver { active-strategy = keep-majority, stable-after = 1.5s }
            failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 2s }
            gossip-interval = 200ms
            leader-actions-interval = 200ms
            unreachable-nodes-reaper-interval = 250ms
            singleton.hand-over-retry-interval = 200ms
            run-coordinated-shutdown-when-down = on
          }
          coordinated-shutdown.exit-clr = on
        }
        actor-scheduler {
          periodic-interval = 100ms
          initial-delay = 100ms
          shutdown-timeout = 1s
          state { store = sql, provider = "SQLite.MS", connection-string = "Data Source={{Path.Combine(_directory, "state.db")}}" }
          tasks.cluster-job { spacing = 300ms, timeout = 2s }
        }
        test-node.run-ms = 100
        """;

    private static string NodeDll()
    {
        // tests/Cluster.Tests/bin/<Configuration>/<tfm>/ -> tests/Cluster.Node/bin/<Configuration>/<tfm>/
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = output.Name;
        var configuration = output.Parent!.Name;
        var tests = output.Parent.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(tests, "Cluster.Node", "bin", configuration, tfm, "ActorScheduler.Cluster.Node.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build tests/Cluster.Node");
        return dll;
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    public void Dispose()
    {
        foreach (var node in _nodes)
            node.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class NodeProcess : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();

        private NodeProcess(Process process) => _process = process;

        public IEnumerable<string> Lines => _lines;

        public static NodeProcess Start(string dll, string config)
        {
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add(dll);
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(config);
            var process = new Process { StartInfo = info };
            var node = new NodeProcess(process);
            process.OutputDataReceived += (_, e) => { if (e.Data is { } line) node._lines.Enqueue(line); };
            process.ErrorDataReceived += (_, _) => { };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return node;
        }

        public bool Has(string prefix) => _lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal));

        public List<DateTimeOffset> Started(string task) =>
            Parse("started", task).Select(e => e.Time).ToList();

        /// <summary>This node's runs of <paramref name="task"/>; a run cut by the kill ends at the kill.</summary>
        public IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> Runs(string task, DateTimeOffset killedAt)
        {
            var ends = Parse("succeeded", task).ToDictionary(e => e.Tick, e => e.Time);
            foreach (var (tick, start) in Parse("started", task))
                yield return (start, ends.TryGetValue(tick, out var end) ? end : killedAt);
        }

        public void Kill()
        {
            if (!_process.HasExited)
                _process.Kill(); // SIGKILL on Linux
            _process.WaitForExit(5000);
        }

        public void Dispose()
        {
            Kill();
            _process.Dispose();
        }

        private IEnumerable<(long Tick, DateTimeOffset Time)> Parse(string evt, string task) =>
            _lines.Select(l => l.Split(' '))
                .Where(p => p.Length >= 4 && p[0] == evt && p[1] == task)
                .Select(p => (long.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture),
                    new DateTimeOffset(long.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Zero)));
    }
}
