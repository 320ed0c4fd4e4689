using System.Globalization;
using System.Text.Json;
using ActorScheduler.Testing.Support;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// One incarnation of a console host node: <c>dotnet actor-scheduler.dll run --config FILE --events FILE --http
/// 127.0.0.1:PORT</c> in its own process, its output kept in memory (shown when something goes wrong).
/// </summary>
internal sealed class HostNode : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly CapturedProcess _process;

    private HostNode(int index, CapturedProcess process, string events, int httpPort)
    {
        Index = index;
        _process = process;
        EventsFile = events;
        HttpPort = httpPort;
    }

    public int Index { get; }

    public string EventsFile { get; }

    public int HttpPort { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Standard output and error together.</summary>
    public string Output => _process.Output;

    /// <summary>The host's dll, built with <c>dotnet build src/Host -c Release</c>.</summary>
    public static string HostDll(string root) => Path.Combine(root, "src", "Host", "bin", "Release", "net10.0", "actor-scheduler.dll");

    public static HostNode Start(string dll, int index, string config, string events, int httpPort, string workingDirectory) =>
        new(index, CapturedProcess.Start("dotnet", [dll, "run", "--config", config, "--events", events, "--http", $"127.0.0.1:{httpPort}"],
            workingDirectory, [KeyValuePair.Create("DOTNET_NOLOGO", "1")]), events, httpPort);

    /// <summary>GET /readyz answers 200: the task set runs and the node is Up.</summary>
    public async Task<bool> ReadyAsync()
    {
        try
        {
            using var response = await Http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/readyz")).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>The starts of <paramref name="task"/> this incarnation wrote so far.</summary>
    public IReadOnlyList<DateTimeOffset> Starts(string task)
    {
        var starts = new List<DateTimeOffset>();
        string text;
        try
        {
            if (!File.Exists(EventsFile))
                return starts;
            using var stream = new FileStream(EventsFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            text = reader.ReadToEnd();
        }
        catch (IOException)
        {
            return starts;
        }

        var complete = text.LastIndexOf('\n'); // a line being written is left for the next read
        if (complete < 0)
            return starts;
        foreach (var line in text[..complete].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            if (root.GetProperty("event").GetString() != "started" || !root.TryGetProperty("task", out var t) || t.GetString() != task)
                continue;
            starts.Add(DateTimeOffset.ParseExact(root.GetProperty("time").GetString()!, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'",
                CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal));
        }

        return starts;
    }

    /// <summary>SIGKILL: the process ends at once, as on a crash or an OOM kill.</summary>
    public void Kill() => _process.Kill(entireProcessTree: false);

    public void Dispose() => _process.Dispose();
}
