using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ActorScheduler.Testing.Support;
using Xunit;

namespace ActorScheduler.Packaging.Tests;

/// <summary>A fact that is skipped, saying why, when the repository has no samples/ directory at all.</summary>
public sealed class SamplesFactAttribute : FactAttribute
{
    public SamplesFactAttribute()
    {
        if (!Directory.Exists(SampleTests.SamplesPath))
            Skip = $"no samples directory ({SampleTests.SamplesPath}): there are no samples to build against the packages";
    }
}

/// <summary>
/// Every application under samples/ is built against the packed packages (never project references) with the
/// test-written NuGet.Config, then started until it shows a run of a task named for it: the run's log line, and the
/// task's counters where the sample serves its stats.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed class SampleTests(PackagesFixture packages, Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>samples/ of this repository, or the directory ACTOR_SCHEDULER_SAMPLES_DIR names (to try this test on other samples).</summary>
    public static string SamplesPath =>
        Environment.GetEnvironmentVariable("ACTOR_SCHEDULER_SAMPLES_DIR") is { Length: > 0 } other
            ? Path.GetFullPath(other)
            : Path.Combine(PackagesFixture.RepoPath, "samples");

    /// <summary>
    /// What proves that a sample's task ran: the log line its run writes, naming the task, and, where the sample serves
    /// its task set's stats, the task's counters there. A sample not listed (from ACTOR_SCHEDULER_SAMPLES_DIR) must
    /// print a line "NAME ran", NAME being the task.
    /// </summary>
    private static readonly Dictionary<string, SampleProof> Proofs = new(StringComparer.Ordinal)
    {
        ["AspNetService"] = new("Heartbeat", new Regex(@"^\s*heartbeat ran at \S+ \(tick \d+, \d+ sessions open\)", RegexOptions.Multiline), "/jobs"),
        ["WorkerService"] = new("Pulse", new Regex(@"^\s*pulse ran at \S+ \(scheduled \S+, tick \d+\)", RegexOptions.Multiline), null),
    };

    private static readonly Regex AnyTaskRan = new(@"^\s*(?<task>[A-Za-z][\w.-]*) ran\b", RegexOptions.Multiline);

    private sealed record SampleProof(string Task, Regex RunLine, string? StatsPath);

    /// <summary>The sample projects: every *.csproj under samples/, outside bin/ and obj/.</summary>
    public static IReadOnlyList<string> SampleProjects() =>
        Directory.EnumerateFiles(SamplesPath, "*.csproj", SearchOption.AllDirectories)
            .Where(p => !p.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal)
            .ToList();

    [SamplesFact]
    public async Task Every_sample_builds_against_the_packed_packages_and_shows_its_tasks_ran()
    {
        var projects = SampleProjects();
        Assert.True(projects.Count > 0, $"no samples found: {SamplesPath} exists but holds no *.csproj");
        packages.AssertPacked();

        var failures = new List<string>();
        foreach (var project in projects)
        {
            var name = Path.GetFileNameWithoutExtension(project);
            try
            {
                await BuildAndRunAsync(project, name);
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or TimeoutException)
            {
                failures.Add($"sample {name} ({Path.GetRelativePath(Path.GetDirectoryName(SamplesPath)!, project)}): {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private async Task BuildAndRunAsync(string project, string name)
    {
        // Built outside the repository (--artifacts-path), so a developer's own build of the sample is left alone.
        var artifacts = Path.Combine(packages.Root, "samples", name);
        var build = await ChildProcess.RunAsync("dotnet",
            ["build", project, "-c", "Release", "--artifacts-path", artifacts, "-nodeReuse:false",
             "-p:UseSharedCompilation=false", $"-p:RestoreConfigFile={packages.NuGetConfig}"],
            Path.GetDirectoryName(project)!, TimeSpan.FromMinutes(6), packages.RestoreEnvironment);
        if (build.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"does not build against the packages\n{build}");

        AssertUsesPackedPackages(artifacts);

        var runtimeConfig = Directory.EnumerateFiles(Path.Combine(artifacts, "bin"), "*.runtimeconfig.json", SearchOption.AllDirectories)
            .FirstOrDefault()
            ?? throw new Xunit.Sdk.XunitException($"built, but no *.runtimeconfig.json under {artifacts}/bin: not an application\n{build}");
        var dll = runtimeConfig[..^".runtimeconfig.json".Length] + ".dll";

        var port = FreePorts.One();
        var environment = new Dictionary<string, string>(packages.RestoreEnvironment)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["URLS"] = $"http://127.0.0.1:{port}",
        };
        // Started in its output folder (its appsettings.json is there), so whatever it writes stays out of the repository.
        using var sample = ChildProcess.Start("dotnet", [dll], Path.GetDirectoryName(dll)!, environment);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var expected = Proofs.GetValueOrDefault(name);
        var started = DateTime.UtcNow;
        var limit = TimeSpan.FromSeconds(60);
        string? logged = null, counted = null, stats = null;
        while ((logged is null || (expected?.StatsPath is not null && counted is null)) && DateTime.UtcNow - started < limit && !sample.HasExited)
        {
            var text = sample.Stdout + sample.Stderr;
            if (logged is null && (expected?.RunLine ?? AnyTaskRan).Match(text) is { Success: true } line)
                logged = $"printed: {line.Value.Trim()}";
            if (expected?.StatsPath is { } path && counted is null)
            {
                stats = await GetAsync(http, $"http://127.0.0.1:{port}{path}");
                if (Counters(stats, expected.Task) is { Runs: > 0, Succeeded: > 0 } counters)
                    counted = $"GET {path}: {expected.Task} runs {counters.Runs}, succeeded {counters.Succeeded}";
            }

            if (logged is null || (expected?.StatsPath is not null && counted is null))
                await Task.Delay(250);
        }

        await sample.StopAsync(TimeSpan.FromSeconds(10));
        var proof = string.Join("; ", new[] { logged, counted }.OfType<string>());
        output.WriteLine($"{name}: built in {build.Elapsed.TotalSeconds:0.0} s; {(proof.Length > 0 ? proof : "no proof of a run")} after {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
        var what = expected is null
            ? "a line \"TASK ran\""
            : $"a run of {expected.Task} (a line matching /{expected.RunLine}/{(expected.StatsPath is null ? "" : $" and {expected.Task}'s runs and successes above 0 in GET {expected.StatsPath}")})";
        if (logged is null || (expected?.StatsPath is not null && counted is null))
            throw new Xunit.Sdk.XunitException(
                (sample.HasExited && sample.Result().ExitCode != 0 && DateTime.UtcNow - started < limit
                    ? $"exited with code {sample.Result().ExitCode} before showing {what}"
                    : $"showed no {what} within {limit.TotalSeconds} s")
                + (stats is null ? "" : $"\nlast GET {expected!.StatsPath}: {stats}") + $"\n{sample.Result()}");
    }

    /// <summary>A task's runs and successes in a stats answer shaped {"tasks": [{"name", "runs", "succeeded"}, ...]}, or null.</summary>
    private static (long Runs, long Succeeded)? Counters(string? json, string task)
    {
        if (json is null)
            return null;
        try
        {
            using var document = JsonDocument.Parse(json);
            foreach (var entry in document.RootElement.GetProperty("tasks").EnumerateArray())
                if (entry.GetProperty("name").GetString() == task)
                    return (entry.GetProperty("runs").GetInt64(), entry.GetProperty("succeeded").GetInt64());
            return null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private static async Task<string?> GetAsync(HttpClient http, string url)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The sample's restore must have taken ActorScheduler packages at the one version, not project references.</summary>
    private static void AssertUsesPackedPackages(string artifacts)
    {
        var assets = Directory.EnumerateFiles(Path.Combine(artifacts, "obj"), "project.assets.json", SearchOption.AllDirectories).ToList();
        if (assets.Count == 0)
            throw new Xunit.Sdk.XunitException($"no project.assets.json under {artifacts}/obj");
        var ours = new List<string>();
        foreach (var file in assets)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var library in json.RootElement.GetProperty("libraries").EnumerateObject())
            {
                var id = library.Name.Split('/')[0];
                if (!PackagesFixture.LibraryIds.Contains(id, StringComparer.OrdinalIgnoreCase))
                    continue;
                var type = library.Value.GetProperty("type").GetString();
                if (type != "package" || library.Name.Split('/')[1] != PackagesFixture.Version)
                    throw new Xunit.Sdk.XunitException(
                        $"uses {library.Name} as a {type}: samples must use the packed packages at {PackagesFixture.Version}");
                ours.Add(library.Name);
            }
        }

        if (ours.Count == 0)
            throw new Xunit.Sdk.XunitException("references no ActorScheduler package");
    }
}
