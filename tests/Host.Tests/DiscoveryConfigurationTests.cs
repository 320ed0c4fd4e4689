using System.Net;
using System.Net.Sockets;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// actor-scheduler-host.cluster.bootstrap and the akka.management / akka.discovery settings it reads: every mistake is
/// exit 2 and one line naming its key, before any ActorSystem starts.
/// </summary>
public class DiscoveryConfigurationTests
{
    /// <summary>Bootstrap on with config discovery of two endpoints; each case adds or changes a line.</summary>
    private const string Bootstrap = """
        actor-scheduler-host.cluster.bootstrap = on
        akka.actor.provider = cluster
        akka.management.http.port = 18558
        akka.discovery.method = config
        akka.discovery.config.services.actor-scheduler.endpoints = ["127.0.0.1:18558", "127.0.0.1:18559"]
        """;

    public static TheoryData<string, string, string> BadConfigurations => new()
    {
        // description, configuration, text the one-line error must contain
        { "bootstrap without a cluster provider", "actor-scheduler-host.cluster.bootstrap = on",
            "actor-scheduler-host.cluster.bootstrap: on needs akka.actor.provider = cluster" },
        { "typo in the host's cluster section", "actor-scheduler-host.cluster.bootstrp = on",
            "actor-scheduler-host.cluster.bootstrp: unknown key; did you mean 'bootstrap'?" },
        { "bad bootstrap switch", "actor-scheduler-host.cluster.bootstrap = maybe",
            "actor-scheduler-host.cluster.bootstrap: \"maybe\" is not a boolean" },
        { "Akka.Management's own switch", "akka.extensions = [\"Akka.Management.Cluster.Bootstrap.ClusterBootstrapProvider, Akka.Management\"]",
            "akka.extensions[0]: \"Akka.Management.Cluster.Bootstrap.ClusterBootstrapProvider, Akka.Management\": the host starts Akka.Management" },
        { "no discovery method", Bootstrap.Replace("akka.discovery.method = config", ""),
            "akka.discovery.method: not set; Cluster Bootstrap looks the nodes up with it: use config" },
        { "unknown discovery method", Bootstrap + "\nakka.discovery.method = consul",
            "akka.discovery.method: \"consul\" is not a discovery method; use config" },
        { "a method whose class does not exist", Bootstrap + "\nakka.discovery.method = akka-dns",
            "akka.discovery.akka-dns.class: \"Akka.Discovery.Dns.DnsServiceDiscovery, Akka.Discovery\" is not found or not a service discovery class" },
        { "service not listed", Bootstrap + "\nakka.management.cluster.bootstrap.contact-point-discovery.service-name = jobs",
            "akka.discovery.config.services: no service named \"jobs\"" },
        { "bad endpoint", Bootstrap + "\nakka.discovery.config.services.actor-scheduler.endpoints = [\"127.0.0.1:18558\", \"127.0.0.1:http\"]",
            "akka.discovery.config.services.actor-scheduler.endpoints[1]: \"127.0.0.1:http\" is not an endpoint" },
        { "more contact points required than listed", Bootstrap + "\nakka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr = 3",
            "akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr: 3 is more than the 2 endpoint(s)" },
        { "typo in a bootstrap key", Bootstrap + "\nakka.management.cluster.bootstrap.contact-point-discovery.stable-margn = 1s",
            "akka.management.cluster.bootstrap.contact-point-discovery.stable-margn: unknown key; did you mean 'stable-margin'?" },
        { "bad bootstrap duration", Bootstrap + "\nakka.management.cluster.bootstrap.contact-point.probe-interval = often",
            "akka.management.cluster.bootstrap.contact-point.probe-interval: \"often\" is not a duration" },
        { "backoff below the interval", Bootstrap + "\nakka.management.cluster.bootstrap.contact-point-discovery { interval = 5s, exponential-backoff-max = 1s }",
            "akka.management.cluster.bootstrap.contact-point-discovery.exponential-backoff-max: 1s is less than interval (5s)" },
        { "typo in a management key", Bootstrap + "\nakka.management.http.bind-hostnme = \"0.0.0.0\"",
            "akka.management.http.bind-hostnme: unknown key; did you mean 'bind-hostname'?" },
        { "management port not a number", Bootstrap + "\nakka.management.http.port = high",
            "akka.management.http.port: \"high\" is not a port" },
        { "management on any free port", Bootstrap + "\nakka.management.http.port = 0",
            "akka.management.http.port: 0 (any free port) is not allowed with Cluster Bootstrap" },
        { "bad join decider", Bootstrap + "\nakka.management.cluster.bootstrap.join-decider.class = \"Nowhere.Decider, Nowhere\"",
            "akka.management.cluster.bootstrap.join-decider.class: \"Nowhere.Decider, Nowhere\" is not a join decider" },
        { "typo in a Kubernetes API key", Bootstrap + "\nakka.discovery.method = kubernetes-api\nakka.discovery.kubernetes-api.pod-label-selectr = \"app={0}\"",
            "akka.discovery.kubernetes-api.pod-label-selectr: unknown key; did you mean 'pod-label-selector'?" },
    };

    [Theory]
    [MemberData(nameof(BadConfigurations))]
    public async Task A_bad_bootstrap_setting_is_exit_2_naming_its_key(string description, string hocon, string expected)
    {
        _ = description;
        using var dir = new TempDir();
        var config = dir.Write("bad.conf", hocon);

        var result = await HostProcess.RunAsync(dir.Path, ["validate", "--config", config]);

        AssertOneLineError(result, expected);
    }

    [Fact]
    public async Task Kubernetes_api_discovery_with_a_pod_label_selector_is_accepted()
    {
        using var dir = new TempDir();
        var config = dir.Write("kubernetes.conf", Bootstrap + """

            akka.discovery.method = kubernetes-api
            akka.discovery.kubernetes-api.pod-label-selector = "app={0}"
            akka.management.cluster.bootstrap.contact-point-discovery.port-name = management
            """);

        var result = await HostProcess.RunAsync(dir.Path, ["validate", "--config", config]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("error", result.Stderr);
    }

    [Fact]
    public async Task Seed_nodes_and_bootstrap_together_are_exit_2_naming_both_keys()
    {
        using var dir = new TempDir();
        var config = dir.Write("both.conf", Bootstrap + "\nakka.cluster.seed-nodes = [\"akka.tcp://actor-scheduler@127.0.0.1:4053\"]");

        foreach (var command in new[] { "validate", "run" })
        {
            var result = await HostProcess.RunAsync(dir.Path, [command, "--config", config]);

            AssertOneLineError(result,
                "error: akka.cluster.seed-nodes: set together with actor-scheduler-host.cluster.bootstrap = on; choose one way of joining");
        }
    }

    [Fact]
    public async Task A_management_port_already_taken_is_exit_2_naming_its_key_before_any_task_runs()
    {
        using var dir = new TempDir();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var config = dir.Write("taken.conf", Bootstrap.Replace("18558", port.ToString(System.Globalization.CultureInfo.InvariantCulture)) + """

            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            actor-scheduler-host.http.endpoint = off
            actor-scheduler.tasks.job { command = "true", run-immediately = on }
            """);

        var result = await HostProcess.RunAsync(dir.Path, ["run", "--config", config, "--for", "10s", "--events", dir.File("events.jsonl")]);

        AssertOneLineError(result, $"error: akka.management.http.port: cannot listen on 127.0.0.1:{port}: Address already in use");
        Assert.DoesNotContain(Event.ReadWritten(dir.File("events.jsonl")), e => e.Name == "started");
    }

    private static void AssertOneLineError(HostResult result, string expected)
    {
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", result.Stderr + result.Stdout);
    }
}
