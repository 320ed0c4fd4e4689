using System.Diagnostics;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// docs/cluster.md's complete Akka.Hosting example is tests/ClusterExample/Program.cs, verbatim; run as a new user
/// would, on one node (port 4053, the first seed), it prints the cluster task's stats instead of failing.
/// </summary>
public sealed class ClusterExampleTests
{
    [Fact]
    public void The_cluster_guide_shows_the_compiled_example_program()
    {
        var source = File.ReadAllText(RepositoryFile("tests/ClusterExample/Program.cs")).ReplaceLineEndings("\n");
        var begin = source.IndexOf("// cluster-example-begin\n", StringComparison.Ordinal) + "// cluster-example-begin\n".Length;
        var end = source.IndexOf("// cluster-example-end", StringComparison.Ordinal);
        var example = source[begin..end].TrimEnd();
        var guide = File.ReadAllText(RepositoryFile("docs/cluster.md")).ReplaceLineEndings("\n");
        Assert.Contains("```csharp\n" + example + "\n```", guide);
    }

    [Fact]
    public async Task The_example_run_alone_on_the_first_seed_forms_its_cluster_and_prints_the_cluster_tasks_stats()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/<configuration>/net10.0
        var program = RepositoryFile($"tests/ClusterExample/bin/{configuration}/net10.0/ClusterExample.dll");
        var directory = Directory.CreateTempSubdirectory("actor-scheduler-example-");
        var lines = new List<string>();
        var answered = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process
        {
            StartInfo = new ProcessStartInfo("dotnet", [program, "4053"])
            {
                WorkingDirectory = directory.FullName, RedirectStandardOutput = true, RedirectStandardError = true,
            },
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
                return;
            lock (lines)
                lines.Add(line);
            if (line.StartsWith("HealInstanceInfoCache:", StringComparison.Ordinal) || line.StartsWith("cluster tasks not reachable", StringComparison.Ordinal))
                answered.TrySetResult(line);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
                lock (lines)
                    lines.Add(line);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var line = await answered.Task.WaitAsync(TimeSpan.FromSeconds(40));
            Assert.StartsWith("HealInstanceInfoCache: 0 runs, 0 missed, next due ", line);
            Assert.False(process.HasExited, "the example should keep running until it is stopped");
            lock (lines)
                Assert.DoesNotContain(lines, l => l.Contains("Unhandled exception", StringComparison.Ordinal));
        }
        catch (Exception e) when (e is TimeoutException or Xunit.Sdk.XunitException)
        {
            lock (lines)
                throw new Xunit.Sdk.XunitException($"{e.Message}\nexample output:\n{string.Join('\n', lines.TakeLast(40))}");
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

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
}
