using System.Globalization;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Configuration;

namespace ActorScheduler.Host.Running;

/// <summary>
/// Keeps a restarted first seed node from forming a second cluster (docs/cluster.md, "Never two runs of one cluster
/// task"). Akka's first seed sends InitJoin to the other seeds and forms a new cluster by itself when none has answered
/// within <c>akka.cluster.seed-node-timeout</c>; a seed that is a member of a cluster answers InitJoinAck, one that is
/// not answers InitJoinNack at once. When another seed's process is there (its port accepts a connection), its answer
/// is waited for up to <see cref="LivingSeedWait"/>: a living cluster's answer comes late on a busy machine, and a cold
/// start is not slowed (seeds that are not members say no at once).
/// </summary>
internal static class FirstSeedGuard
{
    /// <summary>How long a first seed waits for the answer of another seed whose process is there.</summary>
    public static readonly TimeSpan LivingSeedWait = TimeSpan.FromSeconds(30);

    /// <summary>How long a connection to another seed's port may take to say that its process is there.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The seed-node-timeout to use instead of the configured one, and why; null when this node is not the first of
    /// two or more seeds, or no other seed's port accepts a connection, or the configured timeout is longer already.
    /// </summary>
    public static (TimeSpan Timeout, string Reason)? Check(Config config, string systemName, Func<string, int, TimeSpan, bool>? isListening = null)
    {
        IList<string> seeds;
        string host;
        int port;
        TimeSpan configured;
        try
        {
            if (!config.HasPath("akka.cluster.seed-nodes"))
                return null;
            seeds = config.GetStringList("akka.cluster.seed-nodes");
            host = config.GetString("akka.remote.dot-netty.tcp.hostname", "");
            port = config.GetInt("akka.remote.dot-netty.tcp.port", 0);
            configured = config.GetTimeSpan("akka.cluster.seed-node-timeout", TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is ConfigurationException or FormatException or InvalidCastException)
        {
            return null; // a malformed value: the ActorSystem reports it, naming the key
        }

        if (seeds.Count < 2)
            return null;
        if (!TryParse(seeds[0], out var first) || first.System != systemName || first.Port != port
            || !string.Equals(first.Host, host, StringComparison.OrdinalIgnoreCase))
            return null;
        if (configured >= LivingSeedWait)
            return null;
        isListening ??= Listening;
        var others = seeds.Skip(1).Select(s => TryParse(s, out var a) ? a : null).OfType<Address>().ToList();
        var living = others.AsParallel().Where(a => a.Host is { } h && a.Port is { } p && isListening(h, p, ProbeTimeout)).ToList();
        if (living.Count == 0)
            return null;
        return (LivingSeedWait,
            $"this node is the first of akka.cluster.seed-nodes and seed {string.Join(", ", living.Select(a => $"{a.Host}:{a.Port}"))} is running: " +
            $"it joins that seed's cluster if one answers within {LivingSeedWait.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s " +
            $"(seed-node-timeout {configured.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s for this join), and forms a new cluster only if none does");
    }

    private static bool TryParse(string address, out Address parsed)
    {
        try
        {
            parsed = Address.Parse(address);
            return true;
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException or FormatException)
        {
            parsed = null!;
            return false;
        }
    }

    private static bool Listening(string host, int port, TimeSpan timeout)
    {
        using var client = new TcpClient();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            client.ConnectAsync(host, port, cancel.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
