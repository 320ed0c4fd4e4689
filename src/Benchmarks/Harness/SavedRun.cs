using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>
/// A results.json: every worker's result and when, where and from which commit the run was made. Files written before
/// the run's details were recorded hold only results and sweep, and the other fields read as null.
/// </summary>
public sealed record SavedRun
{
    /// <summary>When the run started (UTC).</summary>
    [JsonPropertyName("date")]
    public DateTime? Date { get; init; }

    /// <summary>`git rev-parse --short HEAD` of the working directory when the run started, when git answered.</summary>
    [JsonPropertyName("commit")]
    public string? Commit { get; init; }

    [JsonPropertyName("quick")]
    public bool? Quick { get; init; }

    /// <summary>Cores, operating system and runtime version.</summary>
    [JsonPropertyName("machine")]
    public string? Machine { get; init; }

    /// <summary>The compared libraries' versions.</summary>
    [JsonPropertyName("engines")]
    public string? Engines { get; init; }

    [JsonPropertyName("loadBefore")]
    public string? LoadBefore { get; init; }

    [JsonPropertyName("loadAfter")]
    public string? LoadAfter { get; init; }

    [JsonPropertyName("elapsedMinutes")]
    public double? ElapsedMinutes { get; init; }

    [JsonPropertyName("results")]
    public IReadOnlyList<WorkerResult> Results { get; init; } = [];

    [JsonPropertyName("sweep")]
    public IReadOnlyList<WorkerResult> Sweep { get; init; } = [];

    /// <summary>The details of a run made now, on this machine, from this build.</summary>
    public static SavedRun Now(bool quick) => new()
    {
        Date = new DateTime(DateTime.UtcNow.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, DateTimeKind.Utc),
        Commit = GitCommit(),
        Quick = quick,
        Machine = $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}",
        Engines = $"Quartz.NET {Version(typeof(Quartz.IJob))}, Akka.NET {Version(typeof(Akka.Actor.ActorSystem))}",
    };

    /// <summary>Reads a results.json; one that cannot be read or parsed throws an InvalidDataException naming the file.</summary>
    public static SavedRun Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<SavedRun>(File.ReadAllText(path), WorkerResult.Json)
                ?? throw new InvalidDataException($"cannot read {path}: it holds null");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new InvalidDataException($"cannot read {path}: {e.Message}", e);
        }
    }

    public string ToJson() =>
        JsonSerializer.Serialize(this, new JsonSerializerOptions(WorkerResult.Json) { WriteIndented = true });

    /// <summary>The workloads the run measured: a quick run's, or (not recorded) the full run's unless W1's window is shorter.</summary>
    public Plan ToPlan()
    {
        var full = Plan.Create(false);
        var w1 = Results.FirstOrDefault(r => r.Label == "W1");
        return Plan.Create(Quick ?? (w1 is not null && w1.WindowMs < full.Workloads.First(w => w.Name == "W1").WindowMs));
    }

    /// <summary>
    /// "2026-11-24 06:55 UTC, commit f770608" (", quick run" after a quick run's), or says which of the two the file
    /// does not record.
    /// </summary>
    public string Describe()
    {
        var quick = Quick == true ? ", quick run" : "";
        if (Date is null && Commit is null)
            return "date not recorded" + quick;
        var date = Date is { } d ? Orchestrator.Inv($"{d:yyyy-MM-dd HH:mm} UTC") : "date not recorded";
        return $"{date}, {(Commit is null ? "commit not recorded" : "commit " + Commit)}{quick}";
    }

    private static string? GitCommit()
    {
        try
        {
            var start = new ProcessStartInfo("git")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Orchestrator.RepositoryRoot(),
            };
            start.ArgumentList.Add("rev-parse");
            start.ArgumentList.Add("--short");
            start.ArgumentList.Add("HEAD");
            using var git = Process.Start(start);
            if (git is null)
                return null;
            _ = git.StandardError.ReadToEndAsync(); // "not a git repository" and the like: not printed
            var commit = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 && commit.Length > 0 ? commit : null;
        }
        catch (Win32Exception)
        {
            return null; // no git on this machine
        }
    }

    private static string Version(Type type) =>
        type.Assembly.GetName().Version?.ToString(3) ?? "?";
}
