using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Discovery;
using Akka.Discovery.KubernetesApi;
using Akka.Event;
using k8s;
using k8s.Authentication;
using k8s.Autorest;
using k8s.Models;
using Config = Akka.Configuration.Config;

namespace ActorScheduler.Host.Discovery;

/// <summary>
/// The host's class for <c>akka.discovery.kubernetes-api</c>: lists the pods selected by label through the Kubernetes
/// API, with the settings and keys of Akka.Discovery.KubernetesApi. Unlike that package's class it checks the API
/// server's certificate against api-ca-path (the package hands that file to KubernetesClient as a client certificate,
/// which is dropped without a key), and a failed lookup is one line naming its cause (docs/cluster.md, "Discovery methods").
/// </summary>
public sealed class KubernetesApiDiscovery : ServiceDiscovery
{
    private const string Section = "akka.discovery.kubernetes-api";

    private readonly ILoggingAdapter _log;
    private readonly KubernetesDiscoverySettings _settings;
    private readonly object _lock = new();
    private Kubernetes? _client;
    private string _apiUrl = "";

    public KubernetesApiDiscovery(ExtendedActorSystem system)
        : this(system, system.Settings.Config.GetConfig(Section))
    {
    }

    public KubernetesApiDiscovery(ExtendedActorSystem system, Config config)
    {
        _log = Akka.Event.Logging.GetLogger(system, this);
        _settings = KubernetesDiscoverySettings.Create(config);
    }

    public override async Task<Resolved> Lookup(Lookup lookup, TimeSpan resolveTimeout)
    {
        var labelSelector = _settings.PodLabelSelector(lookup.ServiceName);
        var podNamespace = PodNamespace();
        var client = Client();
        if (!File.Exists(_settings.ApiTokenPath))
            throw Failure($"the token file {_settings.ApiTokenPath} ({Section}.api-token-path) does not exist; mount the service account's token there");

        using var timeout = new CancellationTokenSource(resolveTimeout);
        V1PodList pods;
        try
        {
            pods = _settings.AllNamespaces
                ? await client.CoreV1.ListPodForAllNamespacesAsync(labelSelector: labelSelector, cancellationToken: timeout.Token).ConfigureAwait(false)
                : await client.CoreV1.ListNamespacedPodAsync(podNamespace, labelSelector: labelSelector, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw Failure(Cause(e, podNamespace, resolveTimeout));
        }

        var targets = Targets(pods, lookup.PortName).ToList();
        _log.Debug("Kubernetes API discovery: {0} pod(s) selected by [{1}] in namespace {2}, {3} with port [{4}]",
            pods.Items.Count, labelSelector, podNamespace, targets.Count, lookup.PortName);
        return new Resolved(lookup.ServiceName, targets);
    }

    /// <summary>The namespace listed: pod-namespace, else the content of pod-namespace-path, else "default" (as the package).</summary>
    private string PodNamespace()
    {
        if (!string.IsNullOrWhiteSpace(_settings.PodNamespace))
            return _settings.PodNamespace.Trim();
        try
        {
            return File.Exists(_settings.PodNamespacePath) && File.ReadAllText(_settings.PodNamespacePath).Trim() is { Length: > 0 } name ? name : "default";
        }
        catch (IOException)
        {
            return "default";
        }
    }

    /// <summary>The client, made on the first lookup that finds the API's address and CA file (each lookup retries).</summary>
    private Kubernetes Client()
    {
        lock (_lock)
        {
            if (_client is not null)
                return _client;
            var host = Environment.GetEnvironmentVariable(_settings.ApiServiceHostEnvName)?.Trim();
            var port = Environment.GetEnvironmentVariable(_settings.ApiServicePortEnvName)?.Trim();
            if (string.IsNullOrEmpty(host))
                throw Failure($"the environment variable {_settings.ApiServiceHostEnvName} ({Section}.api-service-host-env-name) is not set; it names the API server's host (Kubernetes sets it in every pod)");
            if (string.IsNullOrEmpty(port))
                throw Failure($"the environment variable {_settings.ApiServicePortEnvName} ({Section}.api-service-port-env-name) is not set; it names the API server's port (Kubernetes sets it in every pod)");
            var url = $"https://{(host.Contains(':') && !host.StartsWith('[') ? $"[{host}]" : host)}:{port}";
            if (!File.Exists(_settings.ApiCaPath))
                throw Failure($"the CA file {_settings.ApiCaPath} ({Section}.api-ca-path) does not exist; it must hold the certificate authority of the API at {url}");

            X509Certificate2Collection authorities = [];
            try
            {
                authorities.ImportFromPemFile(_settings.ApiCaPath);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw Failure($"the CA file {_settings.ApiCaPath} ({Section}.api-ca-path) cannot be read: {Flat(e.Message)}");
            }

            if (authorities.Count == 0)
                throw Failure($"the CA file {_settings.ApiCaPath} ({Section}.api-ca-path) holds no PEM certificate");

            var configuration = new KubernetesClientConfiguration
            {
                Host = url,
                TokenProvider = new TokenFileAuth(_settings.ApiTokenPath),
                // KubernetesClient leaves the handler's validation alone when it has no CA of its own: this one trusts
                // the CA file only, and the host name must match.
                FirstMessageHandlerSetup = handler => handler.SslOptions.RemoteCertificateValidationCallback =
                    (_, certificate, _, errors) => Trusted(certificate, errors, authorities),
            };
            _apiUrl = url;
            return _client = new Kubernetes(configuration);
        }
    }

    private static bool Trusted(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection authorities)
    {
        if (errors == SslPolicyErrors.None)
            return true;
        if (certificate is not X509Certificate2 server || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }

    /// <summary>What went wrong, in one sentence.</summary>
    private string Cause(Exception e, string podNamespace, TimeSpan resolveTimeout)
    {
        var pods = _settings.AllNamespaces ? "pods in all namespaces" : $"pods in namespace {podNamespace}";
        switch (e)
        {
            case HttpOperationException { Response: { } response }:
                var status = $"{(int)response.StatusCode} {response.StatusCode}";
                return response.StatusCode switch
                {
                    HttpStatusCode.Unauthorized =>
                        $"the API at {_apiUrl} answered {status} for {pods}: it does not accept the token in {_settings.ApiTokenPath} ({Section}.api-token-path)",
                    HttpStatusCode.Forbidden =>
                        $"the API at {_apiUrl} answered {status} for {pods} (check the service account's RBAC: it needs list on pods)",
                    _ => $"the API at {_apiUrl} answered {status} for {pods}",
                };
            case OperationCanceledException:
                return $"the API at {_apiUrl} did not answer within {resolveTimeout.TotalSeconds:0.###} s (akka.management.cluster.bootstrap.contact-point-discovery.resolve-timeout)";
            case HttpRequestException { InnerException: AuthenticationException }:
                return $"the API at {_apiUrl} presented a certificate that the CA in {_settings.ApiCaPath} ({Section}.api-ca-path) does not trust for that address";
            case HttpRequestException request:
                return $"cannot reach the API at {_apiUrl}: {Flat(request.Message)}";
            case IOException or UnauthorizedAccessException:
                return $"cannot read the token file {_settings.ApiTokenPath} ({Section}.api-token-path): {Flat(e.Message)}";
            case AggregateException { InnerExceptions: [var inner] }:
                return Cause(inner, podNamespace, resolveTimeout);
            default:
                return $"the request to the API at {_apiUrl} failed: {e.GetType().Name}: {Flat(e.Message)}";
        }
    }

    /// <summary>The management endpoints of the running pods, by the package's rules (port by name, raw IP or pod DNS name).</summary>
    private IEnumerable<ResolvedTarget> Targets(V1PodList pods, string? portName)
    {
        foreach (var pod in pods.Items)
        {
            if (pod.Metadata?.DeletionTimestamp is not null || pod.Status?.Phase?.Contains("running", StringComparison.OrdinalIgnoreCase) != true)
                continue;
            if (_settings.ContainerName is { } container
                && (pod.Status.ContainerStatuses ?? []).Any(s => s.Name == container && s.State?.Waiting is not null))
                continue;
            var ip = pod.Status.PodIP;
            if (string.IsNullOrWhiteSpace(ip) || !IPAddress.TryParse(ip, out var address))
                continue;
            int? port = null;
            if (portName is not null)
            {
                port = (pod.Spec?.Containers ?? []).SelectMany(c => c.Ports ?? []).FirstOrDefault(p => p.Name?.Contains(portName) ?? false)?.ContainerPort;
                if (port is null)
                    continue;
            }

            var host = _settings.RawIp ? ip : $"{ip.Replace('.', '-')}.{PodNamespace()}.pod.{_settings.PodDomain}";
            yield return new ResolvedTarget(host, port, address);
        }
    }

    private static string Flat(string message) => message.ReplaceLineEndings(" ").Trim().TrimEnd('.');

    private static KubernetesDiscoveryException Failure(string cause) => new($"Kubernetes API discovery: {cause}.");
}

/// <summary>
/// A failed lookup, named in one sentence. Cluster Bootstrap logs it with "Resolve attempt failed! Cause: {exception}"
/// and tries again later: its text is the sentence alone, without a stack trace.
/// </summary>
public sealed class KubernetesDiscoveryException(string message) : Exception(message)
{
    public override string ToString() => Message;
}
