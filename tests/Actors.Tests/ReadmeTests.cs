using Xunit;

namespace ActorScheduler.Tests;

/// <summary>The README shows code that compiles and passes: the example test's source, verbatim.</summary>
public class ReadmeTests
{
    private static string RepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
                return candidate;
        }

        throw new FileNotFoundException(relative);
    }

    [Fact]
    public void The_readme_testing_example_is_the_compiled_example_test()
    {
        var source = File.ReadAllText(RepositoryFile("tests/Actors.Tests/ReadmeExample.cs")).ReplaceLineEndings("\n");
        var begin = source.IndexOf("// readme-example-begin\n", StringComparison.Ordinal) + "// readme-example-begin\n".Length;
        var end = source.IndexOf("// readme-example-end", StringComparison.Ordinal);
        var example = source[begin..end].TrimEnd();
        var readme = File.ReadAllText(RepositoryFile("README.md")).ReplaceLineEndings("\n");
        Assert.Contains("```csharp\n" + example + "\n```", readme);
    }
}
