using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ActorScheduler.Testing.Support;
using Xunit;

namespace ActorScheduler.Packaging.Tests;

/// <summary>
/// Packs the three libraries and the console host once per test run (<c>dotnet pack</c>, Release) into a temporary
/// local feed, and writes the NuGet.Config every install and sample build uses: that feed first, then nuget.org as the
/// machine's configuration names it, nothing else. Restores go to a temporary packages folder, so a package left in the
/// user's cache by an earlier pack of the same version can never stand in for the one packed now.
/// </summary>
public sealed class PackagesFixture : IAsyncLifetime
{
    /// <summary>The packages this repository makes, by id.</summary>
    public static readonly string[] LibraryIds = ["ActorScheduler", "ActorScheduler.Cluster", "ActorScheduler.Dashboard"];

    public const string ToolId = "actor-scheduler";

    private static readonly string[] PackedProjects =
    [
        @"src\Actors\Actors.csproj",
        @"src\Actors.Cluster\Actors.Cluster.csproj",
        @"src\Dashboard\Dashboard.csproj",
        @"src\Host\Host.csproj",
    ];

    private readonly Lazy<Task<ProcessResult>> _toolInstall;

    public PackagesFixture()
    {
        Root = Directory.CreateTempSubdirectory("actor-scheduler-packaging-").FullName;
        _toolInstall = new Lazy<Task<ProcessResult>>(InstallToolAsync);
    }

    /// <summary>The repository's root folder (the one with ActorScheduler.sln).</summary>
    public static string RepoPath { get; } = Repository.Root;

    /// <summary>The one version, as version.props sets it (property ActorSchedulerVersion).</summary>
    public static string Version { get; } = ReadVersion();

    /// <summary>The temporary folder of this run: feed, NuGet.Config, packages, tool path, sample outputs.</summary>
    public string Root { get; }

    public string Feed => Path.Combine(Root, "feed");

    public string NuGetConfig => Path.Combine(Root, "NuGet.Config");

    public string PackagesFolder => Path.Combine(Root, "packages");

    public string ToolPath => Path.Combine(Root, "tools");

    public string ToolExecutable => Path.Combine(ToolPath, OperatingSystem.IsWindows() ? "actor-scheduler.exe" : "actor-scheduler");

    /// <summary>The output of the one <c>dotnet pack</c>.</summary>
    public ProcessResult Pack { get; private set; } = null!;

    /// <summary>The environment of every restore: the temporary packages folder.</summary>
    public IReadOnlyDictionary<string, string> RestoreEnvironment => new Dictionary<string, string> { ["NUGET_PACKAGES"] = PackagesFolder };

    public string PackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    public string SymbolPackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.snupkg");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Feed);
        Directory.CreateDirectory(PackagesFolder);
        WriteNuGetConfig();

        // One pack of the four projects through a solution filter: one restore, one build, four packages.
        var filter = Path.Combine(Root, "packages.slnf");
        var solution = new { solution = new { path = Path.Combine(RepoPath, "ActorScheduler.sln"), projects = PackedProjects } };
        await File.WriteAllTextAsync(filter, System.Text.Json.JsonSerializer.Serialize(solution));
        Pack = await ChildProcess.RunAsync("dotnet",
            ["pack", filter, "-c", "Release", "-o", Feed, "-nodeReuse:false", "-p:UseSharedCompilation=false"],
            RepoPath, TimeSpan.FromMinutes(10));
    }

    /// <summary>Fails the calling test with the pack's output when the pack did not succeed.</summary>
    public void AssertPacked()
    {
        if (Pack.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"dotnet pack failed\n{Pack}");
    }

    /// <summary>Installs the tool from the feed into the temporary tool path, once; every tool test shares the result.</summary>
    public Task<ProcessResult> ToolInstall => _toolInstall.Value;

    private async Task<ProcessResult> InstallToolAsync()
    {
        AssertPacked();
        return await ChildProcess.RunAsync("dotnet",
            ["tool", "install", ToolId, "--tool-path", ToolPath, "--add-source", Feed, "--version", Version, "--configfile", NuGetConfig],
            Root, TimeSpan.FromMinutes(3), RestoreEnvironment);
    }

    /// <summary>The nuspec of a package in the feed.</summary>
    public XElement Nuspec(string id)
    {
        using var zip = ZipFile.OpenRead(PackagePath(id));
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var stream = entry.Open();
        var root = XDocument.Load(stream).Root!;
        return root.Element(root.Name.Namespace + "metadata")!;
    }

    /// <summary>The paths of the files in a package (or symbol package).</summary>
    public static IReadOnlyList<string> Entries(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.Entries.Select(e => e.FullName).ToList();
    }

    private void WriteNuGetConfig()
    {
        // Packages in the user's cache may be used (read-only, as a fallback folder) except this repository's own:
        // the fallback folder holds links to every other package of the cache.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env
            ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var fallback = Path.Combine(Root, "fallback");
        Directory.CreateDirectory(fallback);
        var own = LibraryIds.Append(ToolId).Select(id => id.ToLowerInvariant()).ToHashSet();
        if (Directory.Exists(cache))
            foreach (var dir in Directory.EnumerateDirectories(cache))
                if (!own.Contains(Path.GetFileName(dir)))
                    Directory.CreateSymbolicLink(Path.Combine(fallback, Path.GetFileName(dir)), dir);

        var config = new XDocument(new XElement("configuration",
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "local-feed"), new XAttribute("value", Feed)),
                new XElement("add", new XAttribute("key", "nuget.org"), new XAttribute("value", NuGetOrgSource()),
                    new XAttribute("protocolVersion", "3"))),
            new XElement("fallbackPackageFolders",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "user-cache-without-actor-scheduler"), new XAttribute("value", fallback)))));
        config.Save(NuGetConfig);
    }

    /// <summary>The nuget.org source of the machine's NuGet.Config (a mirror may serve it), or nuget.org's own address.</summary>
    private static string NuGetOrgSource()
    {
        var user = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "NuGet", "NuGet.Config");
        if (File.Exists(user))
        {
            var source = XDocument.Load(user).Descendants("packageSources").Elements("add")
                .FirstOrDefault(e => string.Equals((string?)e.Attribute("key"), "nuget.org", StringComparison.OrdinalIgnoreCase));
            if ((string?)source?.Attribute("value") is { Length: > 0 } value)
                return value;
        }

        return "https://api.nuget.org/v3/index.json";
    }

    private static string ReadVersion()
    {
        var props = XDocument.Load(Path.Combine(Repository.Root, "version.props"));
        var version = props.Descendants("ActorSchedulerVersion").Single().Value.Trim();
        Debug.Assert(Regex.IsMatch(version, @"^\d+\.\d+\.\d+"));
        return version;
    }

    public Task DisposeAsync()
    {
        try
        {
            // The links into the user's package cache are unlinked one by one first, so that nothing can ever
            // delete through them.
            var fallback = Path.Combine(Root, "fallback");
            if (Directory.Exists(fallback))
                foreach (var link in Directory.EnumerateFileSystemEntries(fallback))
                    if (new FileInfo(link).LinkTarget is not null)
                        new FileInfo(link).Delete();
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class PackagesCollection : ICollectionFixture<PackagesFixture>
{
    public const string Name = "packed packages";
}
