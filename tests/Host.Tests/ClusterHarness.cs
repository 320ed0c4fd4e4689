using System.Globalization;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>One <c>actor-scheduler run</c> process of a test cluster on 127.0.0.1, with its own events file.</summary>
public sealed class ClusterNode(int index, int port, HostProcess process, string eventsFile)
{
    public int Index { get; } = index;

    public int Port { get; } = port;

    public HostProcess Process { get; } = process;

    public string EventsFile { get; } = eventsFile;

    /// <summary>When the test SIGKILLed it (its runs in flight end then), or null.</summary>
    public DateTimeOffset? KilledAt { get; private set; }

    public string Address => ClusterHarness.Address(Port);

    public IReadOnlyList<Event> Events => Event.ReadWritten(EventsFile);

    /// <summary>Its runs, from its events file, read incrementally (call <see cref="NodeRuns.Read"/> before looking).</summary>
    public NodeRuns Runs { get; } = new(index, eventsFile);

    public void Kill()
    {
        KilledAt = DateTimeOffset.UtcNow;
        if (!Process.HasExited)
            Process.Signal(9);
    }
}

/// <summary>
/// Configuration and checks shared by the process cluster tests that measure fail-over. The failure detector, the split
/// brain resolver and the removal margin use the values of hocon/cluster.conf, which the fail-over bound is stated for
/// (docs/cluster.md, "Split brain resolver and fail-over time"); everything else is Akka's default but the seed-node
/// timeout (the first node forms the cluster sooner).
/// </summary>
public static class ClusterHarness
{
    /// <summary>
    /// A console host node that joins through Cluster Bootstrap (no seed nodes), with test-only timings, set "jobs" and
    /// one cluster task; <paramref name="discovery"/> is HOCON added after it (the discovery method and its keys).
    /// </summary>
    public static string BootstrapNodeConfig(int port, int managementPort, string role, string discovery, string tasks = "") => $$"""
        actor-scheduler-host {
          set-name = jobs
          http.endpoint = off
          cluster.bootstrap = on
        }
        akka {
          actor.provider = cluster
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
          cluster {
            roles = [{{role}}]
            # TEST-ONLY cluster timings (production: hocon/cluster.conf)
            gossip-interval = 200ms
            leader-actions-interval = 200ms
            failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 5s }
          }
          management {
            http.port = {{managementPort}}
            cluster.bootstrap {
              contact-point-discovery {
                required-contact-point-nr = 3
                # TEST-ONLY timings (production defaults: stable-margin 5s, interval 1s)
                stable-margin = 1s
                interval = 200ms
              }
              contact-point.probe-interval = 500ms   # TEST-ONLY (production default: 5s)
            }
          }
        }
        actor-scheduler {
          periodic-interval = 200ms
          initial-delay = 200ms
          shutdown-timeout = 1s
          tasks {
            cluster-job { command = "true", spacing = 1s, scope = cluster }
            {{tasks}}
          }
        }
        {{discovery}}
        """;

    /// <summary>
    /// SIGKILL of a task's owner to its next start on a survivor, at most, in these tests. The target is 12 s; it is
    /// measured on its own by the benchmark (`-- failover`, docs/benchmarks.md). Here other test processes share two
    /// cores, where fail-overs of 12-16 s were seen, so the tests allow 20 s: still far below a task held for its old
    /// run's deadline (the command task's timeout is 40 s), which is the failure they are there to catch.
    /// </summary>
    public static readonly TimeSpan FailOverBound = TimeSpan.FromSeconds(20);

    public static string Address(int port) => $"akka.tcp://actor-scheduler@127.0.0.1:{port}";

    /// <summary>A node's configuration: <paramref name="state"/> is an <c>actor-scheduler.state</c> body, <paramref name="tasks"/> the tasks' entries.</summary>
    public static string NodeConfig(string setName, int port, IEnumerable<int> seedPorts, string roles, string state, string tasks) => $$"""
        actor-scheduler-host.set-name = {{setName}}
        akka {
          actor.provider = cluster
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
          cluster {
            seed-nodes = [{{string.Join(", ", seedPorts.Select(p => $"\"{Address(p)}\""))}}]
            roles = [{{roles}}]
            seed-node-timeout = 2s
            downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            split-brain-resolver { active-strategy = keep-majority, stable-after = 5s, down-all-when-unstable = on }
            down-removal-margin = 1s
            unreachable-nodes-reaper-interval = 500ms
            leader-actions-interval = 500ms
            failure-detector { heartbeat-interval = 500ms, acceptable-heartbeat-pause = 2s }
            run-coordinated-shutdown-when-down = on
          }
        }
        actor-scheduler {
          periodic-interval = 200ms
          initial-delay = 200ms
          shutdown-timeout = 1s
          state { {{state}} }
          tasks {
        {{tasks}}
          }
        }
        """;

    public static string SqliteState(string file) => $"store = sql, provider = \"SQLite.MS\", connection-string = \"Data Source={file}\"";

    public static string PostgresState(string connectionString) =>
        $"store = sql, provider = \"PostgreSQL\", connection-string = \"{connectionString.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"";

    public const string NoState = "store = none";

    /// <summary>Writes node-<paramref name="index"/>.conf and starts <c>run</c> with it and events-<paramref name="index"/>.jsonl.</summary>
    public static ClusterNode Start(TempDir dir, int index, int port, string config)
    {
        var file = dir.Write($"node-{index}.conf", config);
        var events = dir.File($"events-{index}.jsonl");
        return new ClusterNode(index, port, HostProcess.Start(dir.Path, null, "run", "--config", file, "--events", events), events);
    }

    /// <summary>The runs of <paramref name="task"/> on every node; a run without an end ends at its node's kill, or at <paramref name="end"/>.</summary>
    public static List<RunSpan> Runs(IEnumerable<ClusterNode> nodes, string task, DateTimeOffset end)
    {
        var runs = new List<RunSpan>();
        foreach (var node in nodes)
        {
            node.Runs.Read();
            runs.AddRange(node.Runs.Runs(node.KilledAt ?? end).Where(r => r.Task == task));
        }

        return runs.OrderBy(r => r.Start).ToList();
    }

    /// <summary>
    /// No two runs of one task in flight at once, on one node or across <paramref name="nodes"/> (<see cref="RunOverlap"/>);
    /// a failure's message carries each node's log lines naming the overlapping tasks, and its Sharding lines.
    /// </summary>
    public static void AssertNoOverlap(IReadOnlyList<RunSpan> runs, IEnumerable<ClusterNode> nodes)
    {
        var all = nodes.ToList();
        try
        {
            RunOverlap.AssertNone(runs, all.Select(n => n.Runs));
        }
        catch (Xunit.Sdk.XunitException e)
        {
            var tasks = runs.Select(r => r.Task).Distinct().Where(t => e.Message.Contains($"\n{t}: ", StringComparison.Ordinal)).ToList();
            string[] marks = ["Shard", "shard", "hand", "Hand", "rebalanc", "Member removed", "UNREACHABLE", "SBR"];
            var lines = all.SelectMany(n => (n.Process.Stdout + "\n" + n.Process.Stderr).Split('\n')
                .Where(l => tasks.Any(t => l.Contains(t, StringComparison.Ordinal)) || marks.Any(m => l.Contains(m, StringComparison.Ordinal)))
                .TakeLast(60).Select(l => $"  node {n.Index}: {(l.Length > 220 ? l[..220] + "..." : l.TrimEnd())}"));
            throw new Xunit.Sdk.XunitException($"{e.Message}\nthe nodes' lines naming {string.Join(", ", tasks)} or Sharding:\n{string.Join("\n", lines)}");
        }
    }

    /// <summary>
    /// The nodes' log lines between <paramref name="from"/> and <paramref name="to"/> that time a fail-over: unreachable,
    /// downed, removed, the role-less singleton started, the schedule recovered, a task held for a run maybe in flight.
    /// </summary>
    public static IEnumerable<string> FailOverLog(IEnumerable<ClusterNode> nodes, DateTimeOffset from, DateTimeOffset to)
    {
        string[] marks = ["Marking node(s) as UNREACHABLE", "SBR took decision", "SBR found unreachable members changed", "Member removed",
            "cluster/tasks] ", "schedule recovered", "may still be in flight", "is JOINING", "to [Up]"];
        var (first, last) = (from.UtcDateTime.TimeOfDay, to.UtcDateTime.TimeOfDay + TimeSpan.FromSeconds(1));
        return nodes.SelectMany(n => n.Process.Stdout.Split('\n')
            .Where(l => LogTime(l) is { } at && at >= first && at <= last && marks.Any(m => l.Contains(m, StringComparison.Ordinal)))
            .Select(l => $"  node {n.Index}: {(l.Length > 170 ? l[..170] + "..." : l.TrimEnd())}"));
    }

    /// <summary>The time of day (UTC) a host's log line starts with (HH:mm:ss.fff), or null.</summary>
    public static TimeSpan? LogTime(string line) =>
        line.Length > 12 && TimeSpan.TryParseExact(line[..12], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture, out var at) ? at : null;

    public static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    /// <summary>Polls <paramref name="condition"/>; past <paramref name="limit"/>, fails naming it, with <paramref name="detail"/> and the nodes' output.</summary>
    public static async Task WaitUntil(Func<bool> condition, string what, TimeSpan limit, IEnumerable<ClusterNode> nodes, Func<string>? detail = null)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"not within {limit.TotalSeconds} s: {what}{(detail is null ? "" : $" ({detail()})")}\n" +
                            string.Join("\n", nodes.Select(n => $"--- node {n.Index} stdout:\n{n.Process.Stdout}\nstderr:\n{n.Process.Stderr}")));
            await Task.Delay(100);
        }
    }
}

/// <summary>
/// A fact that needs PostgreSQL: skipped, with the reason, when ACTOR_SCHEDULER_TEST_PG is not set, unless
/// ACTOR_SCHEDULER_REQUIRE_POSTGRES=1 (CI), where it runs and fails saying that the server is missing.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public const string Variable = "ACTOR_SCHEDULER_TEST_PG";
    public const string RequireVariable = "ACTOR_SCHEDULER_REQUIRE_POSTGRES";

    public PostgresFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)) && Environment.GetEnvironmentVariable(RequireVariable) != "1")
            Skip = $"PostgreSQL tests need {Variable} (a connection string); `source .ci/postgres.sh` sets it.";
    }

    /// <summary>The connection string of ACTOR_SCHEDULER_TEST_PG; fails, saying why, when it is not set or does not answer.</summary>
    public static string ConnectionString()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(connectionString))
            Assert.Fail($"PostgreSQL is required ({RequireVariable}=1) but {Variable} is not set: the server was not started (see .ci/postgres.sh).");
        try
        {
            using var connection = new Npgsql.NpgsqlConnection(connectionString);
            connection.Open();
        }
        catch (Exception e)
        {
            Assert.Fail($"PostgreSQL of {Variable} cannot be reached: {e.GetType().Name}: {e.Message}");
        }

        return connectionString!;
    }
}
