using System.Net;
using System.Net.Sockets;
using ActorScheduler.Host.Configuration;
using Akka.Actor;
using Akka.Event;
using Akka.Http.Dsl;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Dsl;
using Ceen.Httpd;

namespace ActorScheduler.Host.Running;

/// <summary>
/// Akka.Management's HTTP endpoint with its routes (Cluster Bootstrap's contact point among them), then Cluster
/// Bootstrap, started once the ActorSystem and the host's actors exist; stopped in CoordinatedShutdown before the node
/// leaves the cluster. The host listens itself, with Akka.Management's router, instead of <c>AkkaManagement.Start()</c>:
/// docs/architecture.md, "The console host", says why.
/// </summary>
internal static class ManagementServer
{
    /// <summary>How long the stop waits for requests in flight.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(3);

    /// <exception cref="HostConfigurationException">the endpoint cannot listen, or the bootstrap cannot start.</exception>
    public static async Task StartAsync(ActorSystem system, BootstrapSettings bootstrap)
    {
        var log = Akka.Event.Logging.GetLogger(system, typeof(ManagementServer));
        var stop = new CancellationTokenSource();
        Task server;
        try
        {
            // Routes() also gives Cluster Bootstrap its own contact point (http://hostname:port/).
            var router = new AkkaRouter(system, AkkaManagement.Get(system).Routes());
            var endpoint = new IPEndPoint(await AddressOf(bootstrap.BindHost).ConfigureAwait(false), bootstrap.BindPort);
            server = HttpServer.ListenAsync(endpoint, false, new ServerConfig { Router = router }, stop.Token);
            if (server.IsFaulted)
                await server.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            stop.Dispose();
            throw new HostConfigurationException(
                $"{bootstrap.PortKey}: cannot listen on {bootstrap.BindHost}:{bootstrap.BindPort}: {StartFailures.ListenFailure(e, anyPortAllowed: false)}");
        }

        _ = server.ContinueWith(t => log.Error(t.Exception, "Akka.Management's HTTP endpoint stopped: {0}", t.Exception?.GetBaseException().Message),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeClusterShutdown, "actor-scheduler-host-management", async () =>
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(server, Task.Delay(StopTimeout)).ConfigureAwait(false);
            return Akka.Done.Instance;
        });
        log.Info("Akka.Management listening on {0}:{1}; Cluster Bootstrap looks up \"{2}\" with discovery method {3}",
            bootstrap.BindHost, bootstrap.BindPort, bootstrap.ServiceName, bootstrap.Method);

        try
        {
            await ClusterBootstrap.Get(system).Start().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            throw new HostConfigurationException(
                $"{bootstrap.MethodKey}: Cluster Bootstrap could not start with discovery method \"{bootstrap.Method}\": " +
                $"{ConfigLoader.OneLine(e.GetBaseException().Message).TrimEnd('.')}");
        }
    }

    /// <summary>An IP address as it is, else the first IPv4 address of the name (as Akka.Http.Shim resolves it).</summary>
    private static async Task<IPAddress> AddressOf(string host)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
            return address;
        var addresses = await Dns.GetHostAddressesAsync(host).ConfigureAwait(false);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.First();
    }
}
