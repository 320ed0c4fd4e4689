using System.Net;
using System.Net.Sockets;

namespace ActorScheduler.Testing.Support;

/// <summary>TCP ports on 127.0.0.1 that nothing listens on, for the processes a test or benchmark starts.</summary>
internal static class FreePorts
{
    /// <summary>One free port, as the operating system hands it out.</summary>
    public static int One() => Take(1)[0];

    /// <summary><paramref name="count"/> distinct free ports, as the operating system hands them out (all held at once, then let go).</summary>
    public static int[] Take(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    /// <summary>
    /// Free ports below the ephemeral range (32768 and up on Linux): a port in it can be taken between this check and the
    /// host's bind by any process's outgoing connection, a seed node's attempts to reach a node not started yet included.
    /// </summary>
    public static int[] BelowEphemeralRange(int count)
    {
        var ports = new List<int>();
        while (ports.Count < count)
        {
            var port = Random.Shared.Next(20000, 32000);
            if (ports.Contains(port))
                continue;
            var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
                ports.Add(port);
            }
            catch (SocketException)
            {
            }
            finally
            {
                listener.Stop();
            }
        }

        return [.. ports];
    }
}
