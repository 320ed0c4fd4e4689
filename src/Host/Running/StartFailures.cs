using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.RegularExpressions;
using ActorScheduler.Host.Configuration;
using Akka.Configuration;

namespace ActorScheduler.Host.Running;

/// <summary>Why the host's listeners or its ActorSystem could not start, each in one line naming what to change.</summary>
internal static partial class StartFailures
{
    /// <summary>Where the host's configuration sets remoting's address (hostname, port).</summary>
    private const string RemotePath = "akka.remote.dot-netty.tcp";

    /// <summary>Why a listener could not start, in one line (a port in use says what to do).</summary>
    internal static string ListenFailure(Exception error, bool anyPortAllowed = true)
    {
        var all = Flatten(error).ToList();
        if (all.OfType<SocketException>().FirstOrDefault() is { } socket)
            return socket.SocketErrorCode == SocketError.AddressAlreadyInUse
                ? $"{ConfigLoader.OneLine(socket.Message).TrimEnd('.')} (another process has the port: stop it or choose another port{(anyPortAllowed ? ", or port 0 for any free port" : "")})"
                : ConfigLoader.OneLine(socket.Message).TrimEnd('.');
        return ConfigLoader.OneLine(all[^1].Message).TrimEnd('.');
    }

    internal static void CheckCanListen(IPEndPoint endpoint, string where, bool anyPortAllowed)
    {
        try
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(endpoint);
        }
        catch (SocketException e)
        {
            throw new HostConfigurationException($"{where}: cannot listen on {endpoint}: {ListenFailure(e, anyPortAllowed)}");
        }
    }

    /// <summary>Why Kestrel could not listen, in one line; null when the failure is not Kestrel's.</summary>
    internal static string? HttpFailure(Exception error)
    {
        var all = Flatten(error).ToList();
        if (error is not SocketException && !all.Any(x => x.GetType().FullName == "Microsoft.AspNetCore.Connections.AddressInUseException"
                          || x.Message.StartsWith("Failed to bind to address http", StringComparison.Ordinal)))
            return null;
        return ListenFailure(error);
    }

    /// <summary>
    /// Why the start failed, in one line: a remoting port already in use is named with its key; otherwise the innermost
    /// message that says something (Akka.Hosting wraps the cause in layers of "One or more errors occurred").
    /// </summary>
    internal static string StartFailure(Exception error, Config config)
    {
        var all = Flatten(error).ToList();
        if (all.OfType<SocketException>().FirstOrDefault(s => s.SocketErrorCode == SocketError.AddressAlreadyInUse) is { } taken)
        {
            var endpoint = all.Select(x => BindFailure().Match(x.Message)).FirstOrDefault(m => m.Success)?.Groups[1].Value
                ?? $"{config.GetString(RemotePath + ".hostname", "")}:{config.GetInt(RemotePath + ".port", 0)}";
            return $"{RemotePath}.port: cannot listen on {endpoint}: {ConfigLoader.OneLine(taken.Message).TrimEnd('.')} " +
                   "(another process has the port: stop it or choose another port)";
        }

        var telling = all.LastOrDefault(x => x is not AggregateException and not TypeInitializationException and not TargetInvocationException
                                            && !x.Message.Contains("See InnerException", StringComparison.Ordinal))
                      ?? error;
        return ConfigLoader.OneLine(telling.Message);
    }

    internal static IEnumerable<Exception> Flatten(Exception error)
    {
        yield return error;
        var inner = error is AggregateException aggregate ? aggregate.InnerExceptions : error.InnerException is { } one ? [one] : [];
        foreach (var child in inner)
            foreach (var x in Flatten(child))
                yield return x;
    }

    [GeneratedRegex(@"Failed to bind to \[([^\]]+)\]")]
    private static partial Regex BindFailure();
}
