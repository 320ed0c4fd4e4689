using System.Globalization;
using System.Net;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Discovery;
using Akka.Configuration;
using Akka.Discovery;
using Akka.Discovery.KubernetesApi;
using Akka.Management.Cluster.Bootstrap;

namespace ActorScheduler.Host.Configuration;

/// <summary>
/// <c>actor-scheduler-host.cluster.bootstrap</c>: join the cluster through Akka.Management's Cluster Bootstrap and
/// Akka.Discovery instead of <c>akka.cluster.seed-nodes</c>. With it on, the akka.management and akka.discovery
/// settings the bootstrap reads are checked here, once, before any ActorSystem starts, so that a mistake is one line
/// naming its key (docs/cluster.md, "Joining without seed nodes"; docs/architecture.md, "The console host").
/// </summary>
/// <param name="Enabled">True when <c>run</c> starts Akka.Management's HTTP endpoint and Cluster Bootstrap.</param>
/// <param name="BindHost">Where the management endpoint listens (bind-hostname, else hostname).</param>
/// <param name="BindPort">Its port (bind-port, else port; 0: any free port).</param>
/// <param name="PortKey">The key that set <paramref name="BindPort"/>, for errors.</param>
/// <param name="Method">The discovery method the bootstrap uses (config, kubernetes-api, ...).</param>
/// <param name="MethodKey">The key that names it, for errors.</param>
/// <param name="ServiceName">The name it looks up.</param>
internal sealed record BootstrapSettings(
    bool Enabled, string BindHost, int BindPort, string PortKey, string Method, string MethodKey, string ServiceName)
{
    public const string Section = HostPlan.HostSection + ".cluster";
    public const string Key = Section + ".bootstrap";

    private const string Management = "akka.management";
    private const string Http = Management + ".http";
    private const string Bootstrap = Management + ".cluster.bootstrap";
    private const string ContactPointDiscovery = Bootstrap + ".contact-point-discovery";
    private const string ContactPoint = Bootstrap + ".contact-point";
    private const string Discovery = "akka.discovery";

    /// <summary>The ActorSystem's name: the service Cluster Bootstrap looks up unless service-name says otherwise.</summary>
    private const string DefaultServiceName = "actor-scheduler";

    public static BootstrapSettings Off { get; } = new(false, "", 0, "", "", "", "");

    /// <summary>
    /// The host's defaults over Akka.Management's (whose hostname default is the machine's address): the management
    /// endpoint listens on loopback unless the file says otherwise, as everything the host serves. The kubernetes-api
    /// method is the host's class, which reads the package's keys (docs/cluster.md, "Discovery methods").
    /// </summary>
    private static readonly Config HostDefaults = ConfigurationFactory.ParseString($$"""
        {{Http}}.hostname = "127.0.0.1"
        {{Discovery}}.kubernetes-api.class = "{{typeof(KubernetesApiDiscovery).FullName}}, {{typeof(KubernetesApiDiscovery).Assembly.GetName().Name}}"
        """);

    /// <summary>
    /// What the ActorSystem gets after the file when bootstrap is on: the host's defaults, then the reference
    /// configurations of Akka.Management (Cluster Bootstrap), Akka.Discovery and its Kubernetes API method.
    /// </summary>
    public static Config Fallback => LibraryFallback.Value;

    /// <summary>Built on first use: a file without bootstrap loads none of these assemblies.</summary>
    private static readonly Lazy<Config> LibraryFallback = new(() => HostDefaults
        .WithFallback(ClusterBootstrap.DefaultConfiguration())
        .WithFallback(DiscoveryProvider.DefaultConfiguration())
        .WithFallback(KubernetesDiscovery.DefaultConfiguration()));

    /// <summary>Akka.Management's extension ids: the host starts them itself, so akka.extensions must not name them.</summary>
    private static readonly string[] ManagementExtensions = ["ClusterBootstrapProvider", "AkkaManagementProvider"];

    /// <summary>Reads the switch and, when it is on, checks the settings the bootstrap reads.</summary>
    /// <exception cref="PeriodicTaskConfigurationException">a bad value, an unknown key or a conflict, naming its key.</exception>
    public static BootstrapSettings Read(Config file)
    {
        RejectManagementExtensions(file);
        if (file.HasPath(Section) && !file.GetValue(Section).IsObject())
            throw new PeriodicTaskConfigurationException(Section, "must be an object { bootstrap = on }.");
        var section = new ConfigReader(file.HasPath(Section) ? file.GetConfig(Section) : Config.Empty, Section);
        section.RejectUnknownKeys(["bootstrap"]);
        if (!section.Bool("bootstrap", false))
            return Off;

        if (!HostPlan.IsClusterProvider(file))
            throw new PeriodicTaskConfigurationException(Key, "on needs akka.actor.provider = cluster (Cluster Bootstrap joins an Akka.NET cluster).");
        if (SeedNodes(file).Count > 0)
            throw new PeriodicTaskConfigurationException("akka.cluster.seed-nodes",
                $"set together with {Key} = on; choose one way of joining: remove akka.cluster.seed-nodes (Cluster Bootstrap finds " +
                $"the nodes through akka.discovery), or set {Key} = off to join the seed nodes.");

        var config = file.WithFallback(Fallback);
        var (bindHost, bindPort, portKey) = ReadHttp(config);
        var (method, serviceName, required) = ReadBootstrap(config);
        var (discoveryMethod, methodKey) = ReadDiscovery(config, method, serviceName, required);
        return new BootstrapSettings(true, bindHost, bindPort, portKey, discoveryMethod, methodKey, serviceName);
    }

    /// <summary>
    /// Akka.Management's own switch (akka.extensions) starts it from the extension's constructor and, on a failure, only
    /// logs it and terminates the ActorSystem; the host's switch starts it after the ActorSystem and reports a failure
    /// on one line with exit 2.
    /// </summary>
    private static void RejectManagementExtensions(Config file)
    {
        if (!file.HasPath("akka.extensions") || !file.GetValue("akka.extensions").IsArray())
            return;
        var extensions = file.GetStringList("akka.extensions");
        for (var i = 0; i < extensions.Count; i++)
            if (ManagementExtensions.Any(name => extensions[i].Contains(name, StringComparison.Ordinal)))
                throw new PeriodicTaskConfigurationException($"akka.extensions[{i}]",
                    $"\"{extensions[i]}\": the host starts Akka.Management and Cluster Bootstrap itself; remove it from akka.extensions " +
                    $"and set {Key} = on.");
    }

    private static IList<string> SeedNodes(Config file)
    {
        const string path = "akka.cluster.seed-nodes";
        if (!file.HasPath(path))
            return [];
        var value = file.GetValue(path);
        if (value is null || value.IsEmpty)
            return [];
        if (!value.IsArray())
            throw new PeriodicTaskConfigurationException(path, "must be a list of addresses such as [\"akka.tcp://actor-scheduler@10.0.0.1:4053\"].");
        return file.GetStringList(path);
    }

    /// <summary>akka.management.http: where the endpoint listens and what it advertises.</summary>
    private static (string BindHost, int BindPort, string PortKey) ReadHttp(Config config)
    {
        RejectUnknownKeys(config, Management, ["http", "cluster"]);
        RejectUnknownKeys(config, Management + ".cluster", ["bootstrap"]);
        var http = Reader(config, Http);
        http.RejectUnknownKeys(KnownKeys(Http));
        var hostname = http.String("hostname", "").Trim();
        if (hostname.Length == 0 || hostname == "<hostname>")
            throw new PeriodicTaskConfigurationException(http.PathOf("hostname"),
                "is empty; set the address the other nodes reach this node's management endpoint at (127.0.0.1 on one machine, the pod's IP in Kubernetes).");
        var port = Port(http, "port", allowEmpty: false)!.Value;
        var bindHost = http.String("bind-hostname", "").Trim();
        var bindPort = Port(http, "bind-port", allowEmpty: true);
        http.String("base-path", "");
        http.Bool("route-providers-read-only", true);
        var routes = http.Child("routes");
        foreach (var name in routes.Keys.Where(k => !routes.IsNull(k)))
        {
            var type = routes.String(name, "");
            if (Type.GetType(type) is null)
                throw new PeriodicTaskConfigurationException(routes.PathOf(name), $"type \"{type}\" not found; name a route provider class as \"Namespace.Type, Assembly\".");
        }

        // The other nodes reach this one at a port they know (listed, or the pod's named port): never any free port.
        var portKey = http.PathOf(bindPort is null ? "port" : "bind-port");
        if ((bindPort ?? port) == 0 || port == 0)
            throw new PeriodicTaskConfigurationException(port == 0 ? http.PathOf("port") : portKey,
                "0 (any free port) is not allowed with Cluster Bootstrap: the other nodes reach this node's management endpoint at a fixed port; set one such as 8558.");
        return (bindHost.Length > 0 ? bindHost : hostname, bindPort ?? port, portKey);
    }

    /// <summary>akka.management.cluster.bootstrap: the discovery method, the name looked up and the contact points needed.</summary>
    private static (string Method, string ServiceName, int Required) ReadBootstrap(Config config)
    {
        var bootstrap = Reader(config, Bootstrap);
        bootstrap.RejectUnknownKeys(KnownKeys(Bootstrap));
        bootstrap.Bool("new-cluster-enabled", true);

        var discovery = bootstrap.Child("contact-point-discovery");
        discovery.RejectUnknownKeys(KnownKeys(ContactPointDiscovery));
        string Optional(string key, string placeholder) =>
            discovery.String(key, "").Trim() is var v && v != placeholder ? v : "";
        var serviceName = Optional("service-name", "<service-name>");
        var serviceNamespace = Optional("service-namespace", "<service-namespace>");
        var effectiveName = Optional("effective-name", "<effective-name>");
        discovery.String("port-name", "");
        discovery.String("protocol", "");
        var method = discovery.String("discovery-method", Discovery).Trim();
        Positive(discovery, "stable-margin");
        var interval = Positive(discovery, "interval");
        Fraction(discovery, "exponential-backoff-random-factor");
        var backoffMax = Positive(discovery, "exponential-backoff-max");
        if (backoffMax < interval)
            throw new PeriodicTaskConfigurationException(discovery.PathOf("exponential-backoff-max"),
                $"{Durations.Format(backoffMax)} is less than interval ({Durations.Format(interval)}); use a duration >= interval.");
        var required = discovery.Int("required-contact-point-nr", 2, 1);
        discovery.Bool("contact-with-all-contact-points", true);
        Positive(discovery, "resolve-timeout");

        var contactPoint = bootstrap.Child("contact-point");
        contactPoint.RejectUnknownKeys(KnownKeys(ContactPoint));
        if (contactPoint.String("fallback-port", "").Trim() is var fallback && fallback != "<fallback-port>" && fallback.Length > 0)
            Port(contactPoint, "fallback-port", allowEmpty: false);
        contactPoint.Bool("filter-on-fallback-port", true);
        Positive(contactPoint, "probing-failure-timeout");
        Positive(contactPoint, "probe-interval");
        Fraction(contactPoint, "probe-interval-jitter");

        var joinDecider = bootstrap.Child("join-decider");
        joinDecider.RejectUnknownKeys(["class"]);
        var decider = joinDecider.String("class", "");
        var deciderType = Type.GetType(decider);
        if (deciderType is null || !typeof(IJoinDecider).IsAssignableFrom(deciderType))
            throw new PeriodicTaskConfigurationException(joinDecider.PathOf("class"),
                $"\"{decider}\" is not a join decider; name a class implementing Akka.Management.Cluster.Bootstrap.IJoinDecider, " +
                "such as \"Akka.Management.Cluster.Bootstrap.LowestAddressJoinDecider, Akka.Management\".");

        // As Akka.Management names the service: effective-name, else service-name (else the environment variable it
        // reads, else the ActorSystem's name) with service-namespace appended.
        var name = effectiveName.Length > 0
            ? effectiveName
            : (serviceName.Length > 0 ? serviceName : NonEmpty(Environment.GetEnvironmentVariable("AKKA__CLUSTER__BOOTSTRAP__SERVICE_NAME")) ?? DefaultServiceName)
              + (serviceNamespace.Length > 0 ? "." + serviceNamespace : "");
        return (method, name, required);
    }

    /// <summary>akka.discovery: the method Cluster Bootstrap uses must exist; the config method must list the service.</summary>
    private static (string Method, string MethodKey) ReadDiscovery(Config config, string bootstrapMethod, string serviceName, int required)
    {
        var methodKey = ContactPointDiscovery + ".discovery-method";
        var method = bootstrapMethod;
        if (bootstrapMethod == Discovery)
        {
            methodKey = Discovery + ".method";
            method = config.HasPath(methodKey) && config.GetValue(methodKey) is { } value && !value.IsEmpty && !value.IsObject() && !value.IsArray()
                ? value.GetString()?.Trim() ?? ""
                : "";
            if (method.Length == 0 || method == "<method>")
                throw new PeriodicTaskConfigurationException(methodKey,
                    $"not set; Cluster Bootstrap looks the nodes up with it: use {MethodList(config)} " +
                    "(config: every node's management endpoint listed in akka.discovery.config.services).");
        }
        else if (method.StartsWith(Discovery + ".", StringComparison.Ordinal))
        {
            method = method[(Discovery.Length + 1)..];
        }

        CheckMethod(config, method, methodKey, serviceName, required, depth: 0);
        return (method, methodKey);
    }

    private static void CheckMethod(Config config, string method, string methodKey, string serviceName, int required, int depth)
    {
        var path = $"{Discovery}.{method}";
        if (method.Length == 0 || method.Contains('"') || !config.HasPath(path) || !config.GetValue(path).IsObject() || !config.HasPath(path + ".class"))
            throw new PeriodicTaskConfigurationException(methodKey,
                $"\"{method}\" is not a discovery method; use {MethodList(config)} (each a section akka.discovery.NAME with a class).");
        var className = config.GetString(path + ".class", "");
        var type = DiscoveryType(className);
        if (type is null)
            throw new PeriodicTaskConfigurationException(path + ".class",
                $"\"{className}\" is not found or not a service discovery class; name a class extending Akka.Discovery.ServiceDiscovery as \"Namespace.Type, Assembly\".");

        switch (method)
        {
            case "config":
                CheckConfigServices(config, serviceName, required);
                break;
            case "kubernetes-api":
                var kubernetes = Reader(config, path);
                kubernetes.RejectUnknownKeys(KnownKeys(path));
                kubernetes.Bool("all-namespaces", false);
                kubernetes.Bool("use-raw-ip", true);
                if (kubernetes.String("pod-label-selector", "").Trim().Length == 0)
                    throw new PeriodicTaskConfigurationException(kubernetes.PathOf("pod-label-selector"),
                        "is empty; select the nodes' pods by label, such as \"app={0}\" ({0}: the service name).");
                break;
            case "aggregate" when depth == 0:
                var methodsKey = path + ".discovery-methods";
                var methods = config.HasPath(methodsKey) && config.GetValue(methodsKey).IsArray() ? config.GetStringList(methodsKey) : [];
                if (methods.Count == 0)
                    throw new PeriodicTaskConfigurationException(methodsKey, "must list the discovery methods to try in order, such as [\"config\", \"kubernetes-api\"].");
                for (var i = 0; i < methods.Count; i++)
                    CheckMethod(config, methods[i], $"{methodsKey}[{i}]", serviceName, required: 1, depth + 1);
                break;
        }
    }

    /// <summary>The config method: the looked-up service lists at least required-contact-point-nr endpoints, each HOST[:PORT].</summary>
    private static void CheckConfigServices(Config config, string serviceName, int required)
    {
        var servicesPath = config.GetString(Discovery + ".config.services-path", "")?.Trim() ?? "";
        if (servicesPath.Length == 0 || !config.HasPath(servicesPath) || !config.GetValue(servicesPath).IsObject())
            throw new PeriodicTaskConfigurationException(Discovery + ".config.services-path",
                $"\"{servicesPath}\" is not an object of services; keep the default akka.discovery.config.services.");
        var services = new ConfigReader(config.GetConfig(servicesPath), servicesPath);
        if (!services.IsObjectByName(serviceName))
            throw new PeriodicTaskConfigurationException(servicesPath,
                $"no service named \"{serviceName}\" (the name Cluster Bootstrap looks up: {ContactPointDiscovery}.service-name, " +
                $"by default the ActorSystem's name {DefaultServiceName}); services: {(services.Keys.Count == 0 ? "none" : string.Join(", ", services.Keys))}. " +
                $"List every node's management endpoint: {servicesPath}.{serviceName}.endpoints = [\"127.0.0.1:8558\", ...].");
        var service = services.ChildByName(serviceName);
        var endpointsKey = service.PathOf("endpoints");
        if (!service.IsArray("endpoints"))
            throw new PeriodicTaskConfigurationException(endpointsKey, "must be a list of management endpoints such as [\"127.0.0.1:8558\", \"127.0.0.1:8559\"].");
        var endpoints = service.Config.GetStringList("endpoints");
        for (var i = 0; i < endpoints.Count; i++)
        {
            // Akka.Discovery reads HOST[:PORT]; a missing port is the contact point's fallback-port.
            var parts = endpoints[i].Split(':');
            if (parts.Length > 2 || parts[0].Trim().Length == 0
                || (parts.Length == 2 && (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)))
                throw new PeriodicTaskConfigurationException($"{endpointsKey}[{i}]",
                    $"\"{endpoints[i]}\" is not an endpoint; use HOST:PORT with the node's management port, such as 127.0.0.1:8558.");
        }

        if (endpoints.Count < required)
            throw new PeriodicTaskConfigurationException(ContactPointDiscovery + ".required-contact-point-nr",
                $"{required} is more than the {endpoints.Count} endpoint(s) in {endpointsKey}: the cluster could never form; list every node's management endpoint, or lower it.");
    }

    /// <summary>The discovery methods the configuration has: the sections under akka.discovery whose class exists.</summary>
    private static string MethodList(Config config)
    {
        var root = config.GetConfig(Discovery);
        var names = root.Root.GetObject().Items
            .Where(item => item.Value.IsObject() && item.Value.GetObject().Items.TryGetValue("class", out var c) && DiscoveryType(c.GetString()) is not null)
            .Select(item => item.Key)
            .OrderBy(name => name switch { "config" => 0, "kubernetes-api" => 1, _ => 2 })
            .ToList();
        return names.Count == 0 ? "config" : string.Join(", ", names);
    }

    private static Type? DiscoveryType(string? className) =>
        Type.GetType(className ?? "", throwOnError: false) is { } type && typeof(ServiceDiscovery).IsAssignableFrom(type) ? type : null;

    private static ConfigReader Reader(Config config, string path)
    {
        if (config.HasPath(path) && !config.GetValue(path).IsObject())
            throw new PeriodicTaskConfigurationException(path, "must be an object { ... }.");
        return new ConfigReader(config.HasPath(path) ? config.GetConfig(path) : Config.Empty, path);
    }

    private static void RejectUnknownKeys(Config config, string path, IReadOnlyCollection<string> known) =>
        Reader(config, path).RejectUnknownKeys(known);

    /// <summary>The keys a reference configuration has at <paramref name="path"/>: the keys the library reads there.</summary>
    private static IReadOnlyList<string> KnownKeys(string path) =>
        Fallback.HasPath(path) ? Fallback.GetConfig(path).Root.GetObject().Items.Keys.ToList() : [];

    private static int? Port(ConfigReader section, string key, bool allowEmpty)
    {
        var raw = section.String(key, "").Trim();
        if (raw.Length == 0 && allowEmpty)
            return null;
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            throw new PeriodicTaskConfigurationException(section.PathOf(key),
                $"\"{raw}\" is not a port; use 0 to 65535 (0: any free port){(allowEmpty ? ", or \"\"" : "")}.");
        return port;
    }

    private static TimeSpan Positive(ConfigReader section, string key)
    {
        var value = section.Duration(key, TimeSpan.FromSeconds(1));
        if (value <= TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(section.PathOf(key), "must be > 0.");
        return value;
    }

    private static void Fraction(ConfigReader section, string key)
    {
        var raw = section.String(key, "0").Trim();
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || double.IsNaN(value) || double.IsInfinity(value))
            throw new PeriodicTaskConfigurationException(section.PathOf(key), $"\"{raw}\" is not allowed; use a number >= 0 such as 0.2.");
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>The management endpoint as an IP end point, or null when its host is a name (not checked before the start).</summary>
    public IPEndPoint? BindEndPoint() => IPAddress.TryParse(BindHost.Trim('[', ']'), out var address) ? new IPEndPoint(address, BindPort) : null;
}
