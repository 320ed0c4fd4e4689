using System.Xml.Linq;
using Xunit;

namespace ActorScheduler.Packaging.Tests;

/// <summary>What the packages contain: they are zip files, read here as a package manager reads them.</summary>
[Collection(PackagesCollection.Name)]
public sealed class PackageContentTests(PackagesFixture packages, Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string> Libraries => new(PackagesFixture.LibraryIds);

    private static string Value(XElement metadata, string name) =>
        metadata.Element(metadata.Name.Namespace + name)?.Value ?? "";

    [Fact]
    public void Pack_makes_the_three_libraries_and_the_tool_with_symbol_packages_and_nothing_else()
    {
        packages.AssertPacked();
        var expected = PackagesFixture.LibraryIds.Append(PackagesFixture.ToolId)
            .SelectMany(id => new[] { $"{id}.{PackagesFixture.Version}.nupkg", $"{id}.{PackagesFixture.Version}.snupkg" })
            .Order(StringComparer.Ordinal);
        var made = Directory.EnumerateFiles(packages.Feed).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(expected, made);
        output.WriteLine($"dotnet pack of the four projects: {packages.Pack.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public void Every_package_has_the_one_version_of_version_props()
    {
        packages.AssertPacked();
        foreach (var id in PackagesFixture.LibraryIds.Append(PackagesFixture.ToolId))
        {
            var metadata = packages.Nuspec(id);
            Assert.Equal(id, Value(metadata, "id"));
            Assert.Equal(PackagesFixture.Version, Value(metadata, "version"));
        }
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void A_library_package_has_its_readme_licence_tags_description_and_authors(string id)
    {
        packages.AssertPacked();
        var metadata = packages.Nuspec(id);
        var readme = Value(metadata, "readme");
        Assert.Equal("PACKAGE.md", readme);
        Assert.Contains(readme, PackagesFixture.Entries(packages.PackagePath(id)));

        var license = metadata.Element(metadata.Name.Namespace + "license");
        Assert.NotNull(license);
        Assert.Equal("expression", (string?)license.Attribute("type"));
        Assert.Equal("MIT", license.Value);

        var tags = Value(metadata, "tags").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("akka", tags);
        Assert.Contains("periodic-tasks", tags);
        Assert.False(string.IsNullOrWhiteSpace(Value(metadata, "description")), "no description");
        Assert.Equal("ActorScheduler contributors", Value(metadata, "authors"));

        // Source Link: the commit is recorded; there is no repository URL while the repository has no remote.
        var repository = metadata.Element(metadata.Name.Namespace + "repository");
        Assert.NotNull(repository);
        Assert.Matches("^[0-9a-f]{40}$", (string?)repository.Attribute("commit") ?? "");
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void A_library_package_has_its_assembly_and_XML_docs_and_a_symbol_package_with_its_pdb(string id)
    {
        packages.AssertPacked();
        var entries = PackagesFixture.Entries(packages.PackagePath(id));
        Assert.Contains($"lib/net10.0/{id}.dll", entries);
        Assert.Contains($"lib/net10.0/{id}.xml", entries);

        Assert.True(File.Exists(packages.SymbolPackagePath(id)), $"no {Path.GetFileName(packages.SymbolPackagePath(id))} beside the package");
        Assert.Contains($"lib/net10.0/{id}.pdb", PackagesFixture.Entries(packages.SymbolPackagePath(id)));
    }

    [Theory]
    [InlineData("ActorScheduler.Cluster", "ActorScheduler")]
    [InlineData("ActorScheduler.Dashboard", "ActorScheduler")]
    public void A_library_depends_on_the_core_package_at_the_same_version(string id, string dependency)
    {
        packages.AssertPacked();
        var metadata = packages.Nuspec(id);
        var versions = metadata.Descendants(metadata.Name.Namespace + "dependency")
            .Where(d => (string?)d.Attribute("id") == dependency)
            .Select(d => (string?)d.Attribute("version"))
            .ToList();
        Assert.NotEmpty(versions);
        Assert.All(versions, v => Assert.Equal(PackagesFixture.Version, v));
    }

    [Fact]
    public void The_tool_package_is_a_DotnetTool_with_the_actor_scheduler_command_in_its_tools_folder()
    {
        packages.AssertPacked();
        var metadata = packages.Nuspec(PackagesFixture.ToolId);
        var types = metadata.Descendants(metadata.Name.Namespace + "packageType").Select(t => (string?)t.Attribute("name")).ToList();
        Assert.Equal(["DotnetTool"], types);
        Assert.Equal("PACKAGE.md", Value(metadata, "readme"));
        Assert.Equal("MIT", Value(metadata, "license"));

        var entries = PackagesFixture.Entries(packages.PackagePath(PackagesFixture.ToolId));
        Assert.Contains("PACKAGE.md", entries);
        Assert.Contains("tools/net10.0/any/actor-scheduler.dll", entries);
        Assert.Contains("tools/net10.0/any/ActorScheduler.dll", entries);
        Assert.Contains("tools/net10.0/any/DotnetToolSettings.xml", entries);

        using var zip = System.IO.Compression.ZipFile.OpenRead(packages.PackagePath(PackagesFixture.ToolId));
        using var settings = zip.GetEntry("tools/net10.0/any/DotnetToolSettings.xml")!.Open();
        var command = XDocument.Load(settings).Descendants("Command").Single();
        Assert.Equal("actor-scheduler", (string?)command.Attribute("Name"));
        Assert.Equal("actor-scheduler.dll", (string?)command.Attribute("EntryPoint"));
        Assert.True(File.Exists(packages.SymbolPackagePath(PackagesFixture.ToolId)), "no symbol package beside the tool package");
    }
}
