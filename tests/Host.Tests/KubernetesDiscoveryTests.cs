using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ActorScheduler.Testing.Support;
using Xunit;
using Xunit.Abstractions;
using static ActorScheduler.Host.Tests.ClusterHarness;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// Cluster Bootstrap through Kubernetes API discovery against a fake API server on 127.0.0.1 over HTTPS (its own CA,
/// a server certificate for IP 127.0.0.1, a service-account token, CA and namespace file written per test). Bootstrap
/// and cluster timings are tuned FOR THIS TEST ONLY (production values: docs/cluster.md, "Joining without seed nodes").
/// </summary>
[Collection(nameof(ClusterRunTests))]
public sealed class KubernetesDiscoveryTests(ITestOutputHelper output)
{
    private const string Namespace = "scheduling";
    private const string Token = "service-account-token";
    private const string LabelSelector = "app=actor-scheduler";

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Three_host_processes_form_one_cluster_through_the_Kubernetes_API()
    {
        using var dir = new TempDir();
        var ports = FreePorts.Take(6);
        var remoting = ports[..3];
        var management = ports[3..];
        var (authority, server) = FakeKubernetesApi.Certificates();
        await using var api = await FakeKubernetesApi.StartAsync(server, Token, Namespace, LabelSelector, management);
        var files = ServiceAccount(dir, Token, authority);
        var nodes = new List<HostProcess>();
        try
        {
            var started = Stopwatch.StartNew();
            for (var i = 0; i < 3; i++)
            {
                var config = dir.Write($"node-{i}.conf", NodeConfig(remoting[i], management[i], files, $"n{i}"));
                nodes.Add(HostProcess.Start(dir.Path, Environment(api.Port), "run", "--config", config, "--events", dir.File($"events-{i}.jsonl")));
            }

            // Every node's management endpoint lists the three members Up: each sees one cluster of three.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var views = new string[3];
            await WaitUntil(async () =>
            {
                for (var i = 0; i < 3; i++)
                {
                    views[i] = await SeedNodes(http, management[i]);
                    if (UpMembers(views[i]).Count != 3)
                        return false;
                }

                return true;
            }, "3 members Up on every node's /bootstrap/seed-nodes", nodes);
            output.WriteLine($"all three Up {started.Elapsed.TotalSeconds:F1} s after the start, after {api.Requests} pod list requests");
            foreach (var view in views)
                Assert.Equal(remoting.Select(p => $"127.0.0.1:{p}").Order(), UpMembers(view).Order());

            // A cluster task runs, on one node only (three clusters would run it on each).
            await WaitUntil(() => Task.FromResult(Enumerable.Range(0, 3).Sum(i => Starts(dir, i, "cluster-job")) >= 3), "3 runs of cluster-job", nodes);
            var owners = Enumerable.Range(0, 3).Where(i => Starts(dir, i, "cluster-job") > 0).ToList();
            Assert.True(owners.Count == 1, $"cluster-job ran on nodes {string.Join(", ", owners)}\n{Outputs(nodes)}");
            Assert.All(nodes, n => Assert.False(n.HasExited, n.Stderr));
        }
        finally
        {
            foreach (var node in nodes)
                node.Dispose();
        }
    }

    public static TheoryData<string, string> Failures => new()
    {
        // failure, text of the line that names its cause ({0}: the API's port, {1}: the temporary folder)
        { "wrong token", "Kubernetes API discovery: the API at https://127.0.0.1:{0} answered 401 Unauthorized for pods in namespace scheduling: it does not accept the token in {1}/token (akka.discovery.kubernetes-api.api-token-path)." },
        { "missing CA file", "Kubernetes API discovery: the CA file {1}/missing-ca.crt (akka.discovery.kubernetes-api.api-ca-path) does not exist; it must hold the certificate authority of the API at https://127.0.0.1:{0}." },
        { "forbidden", "Kubernetes API discovery: the API at https://127.0.0.1:{0} answered 403 Forbidden for pods in namespace scheduling (check the service account's RBAC: it needs list on pods)." },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_failing_lookup_is_one_line_naming_its_cause_and_the_node_keeps_trying(string failure, string expected)
    {
        using var dir = new TempDir();
        var ports = FreePorts.Take(2);
        var (authority, server) = FakeKubernetesApi.Certificates();
        await using var api = await FakeKubernetesApi.StartAsync(server, Token, Namespace, LabelSelector, [ports[1]],
            failure == "forbidden" ? HttpStatusCode.Forbidden : null);
        var files = ServiceAccount(dir, failure == "wrong token" ? "another-token" : Token, authority);
        if (failure == "missing CA file")
            files = files with { Ca = dir.File("missing-ca.crt") };
        var config = dir.Write("node.conf", NodeConfig(ports[0], ports[1], files, "n0"));
        var line = string.Format(CultureInfo.InvariantCulture, expected, api.Port, dir.Path);

        using var node = HostProcess.Start(dir.Path, Environment(api.Port), "run", "--config", config, "--events", dir.File("events.jsonl"));

        // Twice: the node tried again after the first failure and is still running.
        await node.WaitUntilAsync(() => Count(node.Stdout + node.Stderr, line) >= 2, $"the line \"{line}\" twice", Wait);
        Assert.False(node.HasExited, node.Stderr);
        var text = node.Stdout + node.Stderr;
        output.WriteLine(string.Join("\n", text.Split('\n').Where(l => l.Contains(line, StringComparison.Ordinal)).Take(2)));
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("ERROR", text);
        // The line is the whole cause: "Resolve attempt failed! Cause: <line>", nothing after it on the next line.
        Assert.Matches(new Regex($@"WARN  Resolve attempt failed! Cause: {Regex.Escape(line)}\r?\n"), text);
        if (failure != "missing CA file")
            Assert.True(api.Requests >= 2, $"{api.Requests} pod list requests");
    }

    private sealed record ServiceAccountFiles(string Token, string Ca, string Namespace);

    /// <summary>The files a pod's service account mounts: token, CA certificate (PEM) and namespace.</summary>
    private static ServiceAccountFiles ServiceAccount(TempDir dir, string token, System.Security.Cryptography.X509Certificates.X509Certificate2 authority) =>
        new(dir.Write("token", token + "\n"), dir.Write("ca.crt", authority.ExportCertificatePem() + "\n"), dir.Write("namespace", Namespace));

    /// <summary>What Kubernetes sets in every pod: where the API server is.</summary>
    private static Dictionary<string, string> Environment(int apiPort) => new()
    {
        ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
        ["KUBERNETES_SERVICE_PORT"] = apiPort.ToString(CultureInfo.InvariantCulture),
    };

    private static string NodeConfig(int port, int managementPort, ServiceAccountFiles files, string role) => BootstrapNodeConfig(port, managementPort, role, $$"""
        akka.discovery {
          method = kubernetes-api
          kubernetes-api {
            api-ca-path = "{{files.Ca}}"
            api-token-path = "{{files.Token}}"
            pod-namespace-path = "{{files.Namespace}}"
            pod-label-selector = "app={0}"
          }
        }
        akka.management.cluster.bootstrap.contact-point-discovery {
          # The pods' container port named "management" is each node's management endpoint.
          port-name = management
          exponential-backoff-max = 1s   # TEST-ONLY (production default: 15s)
        }
        """);

    private static async Task<string> SeedNodes(HttpClient http, int port)
    {
        try
        {
            return await http.GetStringAsync($"http://127.0.0.1:{port}/bootstrap/seed-nodes");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return "";
        }
    }

    /// <summary>HOST:PORT of the members whose status is Up in a /bootstrap/seed-nodes answer.</summary>
    private static List<string> UpMembers(string json)
    {
        if (json.Length == 0)
            return [];
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("Nodes").EnumerateArray()
            .Where(n => n.GetProperty("Status") is var s && (s.ValueKind == JsonValueKind.String ? s.GetString() == "Up" : s.GetInt32() == 1))
            .Select(n => n.GetProperty("Node"))
            .Select(n => $"{n.GetProperty("Host").GetString()}:{n.GetProperty("Port").GetInt32()}")
            .ToList();
    }

    private static int Count(string text, string line) => Regex.Matches(text, Regex.Escape(line)).Count;

    private static int Starts(TempDir dir, int node, string task) =>
        Event.ReadWritten(dir.File($"events-{node}.jsonl")).Count(e => e.Name == "started" && e.Task == task);

    private static string Outputs(List<HostProcess> nodes) =>
        string.Join("\n", nodes.Select((n, i) => $"--- node {i} stdout:\n{n.Stdout}\nstderr:\n{n.Stderr}"));

    private static async Task WaitUntil(Func<Task<bool>> condition, string what, List<HostProcess> nodes)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline || nodes.Any(n => n.HasExited))
                Assert.Fail($"{(DateTime.UtcNow > deadline ? $"not within {Wait.TotalSeconds} s" : "a node exited before")}: {what}\n{Outputs(nodes)}");
            await Task.Delay(200);
        }
    }
}
