using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
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
/// test-written NuGet.Config, then started for a few seconds: it must show that its tasks ran.
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed class SampleTests(PackagesFixture packages, Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>samples/ of this repository, or the directory ACTOR_SCHEDULER_SAMPLES_DIR names (to try this test on other samples).</summary>
    public static string SamplesPath =>
        Environment.GetEnvironmentVariable("ACTOR_SCHEDULER_SAMPLES_DIR") is { Length: > 0 } other
            ? Path.GetFullPath(other)
            : Path.Combine(PackagesFixture.RepoPath, "samples");

    /// <summary>A line that says a task ran ("ran", as a word, in any case).</summary>
    private static readonly Regex RanLine = new(@"\bran\b", RegexOptions.IgnoreCase | RegexOptions.Multiline);

    private static readonly string[] HealthPaths = ["/healthz", "/health", "/readyz", "/scheduler/healthz"];

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

        var port = FreePort();
        var environment = new Dictionary<string, string>(packages.RestoreEnvironment)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["URLS"] = $"http://127.0.0.1:{port}",
        };
        // Started in its output folder (its appsettings.json is there), so whatever it writes stays out of the repository.
        using var sample = ChildProcess.Start("dotnet", [dll], Path.GetDirectoryName(dll)!, environment);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var started = DateTime.UtcNow;
        var deadline = started + TimeSpan.FromSeconds(30);
        string? proof = null;
        string? health = null;
        while (proof is null && DateTime.UtcNow < deadline && !sample.HasExited)
        {
            await Task.Delay(500);
            if (RanLine.Match(sample.Stdout + sample.Stderr) is { Success: true } ran)
            {
                var text = sample.Stdout + sample.Stderr;
                var start = text.LastIndexOf('\n', ran.Index) + 1;
                var end = text.IndexOf('\n', ran.Index);
                proof = "printed: " + text[start..(end < 0 ? text.Length : end)].Trim();
            }
            else if (health is null)
            {
                foreach (var path in HealthPaths)
                    if (await AnswersAsync(http, $"http://127.0.0.1:{port}{path}"))
                    {
                        health = $"answered GET {path}";
                        break;
                    }
            }
            else if (DateTime.UtcNow - started > TimeSpan.FromSeconds(15))
                proof = health; // a health endpoint answers, but no line said "ran" within 15 s: the health answer is the proof
        }

        await sample.StopAsync(TimeSpan.FromSeconds(10));
        output.WriteLine($"{name}: built in {build.Elapsed.TotalSeconds:0.0} s; {proof ?? "no proof of a run"} after {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
        if (proof is null)
            throw new Xunit.Sdk.XunitException(
                (sample.HasExited && sample.Result().ExitCode != 0 && DateTime.UtcNow < deadline
                    ? $"exited with code {sample.Result().ExitCode} before showing a run"
                    : "showed no run within 30 s: no line with \"ran\" and no health endpoint answered")
                + $" ({string.Join(", ", HealthPaths)} on port {port} tried)\n{sample.Result()}");
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

    private static async Task<bool> AnswersAsync(HttpClient http, string url)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
