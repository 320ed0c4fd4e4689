using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// A Kubernetes API server on 127.0.0.1 over HTTPS that answers the pod list of one namespace: with the pods, when the
/// request carries the expected bearer token and label selector, or with <see cref="Status"/> when it is set.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private FakeKubernetesApi(WebApplication app) => _app = app;

    public int Port { get; private set; }

    /// <summary>The status every request gets instead of the pods (401, 403, ...), or null.</summary>
    public HttpStatusCode? Status { get; init; }

    /// <summary>The pod list requests received.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <param name="certificate">The server's certificate, with its private key.</param>
    /// <param name="token">The bearer token it accepts; another token is 401.</param>
    /// <param name="podNamespace">The namespace whose pods it lists; another is 404.</param>
    /// <param name="labelSelector">The selector it expects; another selects no pod.</param>
    /// <param name="managementPorts">One Running pod at 127.0.0.1 per port, the port named "management".</param>
    /// <param name="status">The status every request gets instead, or null.</param>
    public static async Task<FakeKubernetesApi> StartAsync(X509Certificate2 certificate, string token, string podNamespace,
        string labelSelector, IReadOnlyList<int> managementPorts, HttpStatusCode? status = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        var app = builder.Build();
        var api = new FakeKubernetesApi(app) { Status = status };
        app.Run(context => api.Answer(context, token, podNamespace, labelSelector, managementPorts));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        api.Port = new Uri(address).Port;
        return api;
    }

    private async Task Answer(HttpContext context, string token, string podNamespace, string labelSelector, IReadOnlyList<int> ports)
    {
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith("/api/v1/namespaces/", StringComparison.Ordinal) || !path.EndsWith("/pods", StringComparison.Ordinal))
        {
            await Reply(context, HttpStatusCode.NotFound, StatusBody(404, "NotFound", $"no route {path}"));
            return;
        }

        Interlocked.Increment(ref _requests);
        if (Status is { } status)
        {
            await Reply(context, status, StatusBody((int)status, status.ToString(), "pods is forbidden: User \"system:serviceaccount:test:default\" cannot list resource \"pods\""));
            return;
        }

        if (context.Request.Headers.Authorization.ToString() != $"Bearer {token}")
        {
            await Reply(context, HttpStatusCode.Unauthorized, StatusBody(401, "Unauthorized", "Unauthorized"));
            return;
        }

        if (path != $"/api/v1/namespaces/{podNamespace}/pods")
        {
            await Reply(context, HttpStatusCode.NotFound, StatusBody(404, "NotFound", $"namespace not found: {path}"));
            return;
        }

        var selected = context.Request.Query["labelSelector"].ToString() == labelSelector;
        var items = selected
            ? ports.Select((port, i) => new
            {
                metadata = new { name = $"scheduler-{i}", @namespace = podNamespace, labels = new Dictionary<string, string> { ["app"] = "actor-scheduler" } },
                spec = new { containers = new[] { new { name = "scheduler", ports = new[] { new { name = "management", containerPort = port, protocol = "TCP" } } } } },
                status = new { phase = "Running", podIP = "127.0.0.1" },
            }).ToArray<object>()
            : [];
        await Reply(context, HttpStatusCode.OK, JsonSerializer.Serialize(new { apiVersion = "v1", kind = "PodList", metadata = new { }, items }));
    }

    private static string StatusBody(int code, string reason, string message) =>
        JsonSerializer.Serialize(new { apiVersion = "v1", kind = "Status", status = "Failure", message, reason, code });

    private static async Task Reply(HttpContext context, HttpStatusCode status, string json)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>A certificate authority and a server certificate it signed for IP 127.0.0.1 (with its private key).</summary>
    public static (X509Certificate2 Authority, X509Certificate2 Server) Certificates()
    {
        var now = DateTimeOffset.UtcNow;
        using var authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var authorityRequest = new CertificateRequest("CN=actor-scheduler test cluster CA", authorityKey, HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        authorityRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(authorityRequest.PublicKey, false));
        var authority = authorityRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=kubernetes", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        using var signed = serverRequest.Create(authority, now.AddHours(-1), now.AddDays(1), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(serverKey);
        // Through PKCS#12 so that the key is one Kestrel can use on every platform.
        var server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return (authority, server);
    }
}
