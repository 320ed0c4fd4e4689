using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>actor-scheduler.assemblies: task classes from the user's own assembly (tests/SampleTasks), loaded by path.</summary>
public class PluginAssemblyTests
{
    [Fact]
    public async Task Task_classes_of_a_listed_assembly_are_listed_in_declaration_order_with_their_schedules()
    {
        using var dir = new TempDir();
        var config = dir.Write("plugin.conf", $$"""
            actor-scheduler {
              periodic-interval = 1m
              assemblies = ["{{HostProcess.SampleTasksDll}}"]
              tasks { every-other { ticks-between-runs = 3 } }
            }
            """);

        var result = await HostProcess.RunAsync(dir.Path, ["list", "--config", config]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var tasks = result.Stdout.Split('\n').Skip(2).Where(l => l.Length > 0).Select(l => l.Split(' ')[0]).ToList();
        Assert.Equal(["Beat", "every-other", "base-task", "derived-task"], tasks);
        Assert.Matches(@"every-other\s+every 4 ticks = 240 s", result.Stdout); // the operator's override
        Assert.Matches(@"base-task\s+every 10m", result.Stdout);
        Assert.Matches(@"derived-task\s+disabled", result.Stdout);
    }

    [Fact]
    public async Task Tasks_of_a_plugin_assembly_run_in_the_host_without_a_rebuild()
    {
        using var dir = new TempDir();
        var copy = Path.Combine(dir.Path, "plugins");
        Directory.CreateDirectory(copy);
        File.Copy(HostProcess.SampleTasksDll, Path.Combine(copy, "SampleTasks.dll"));
        var config = dir.Write("plugin.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              assemblies = ["plugins/SampleTasks.dll"]
            }
            """);
        var output = dir.File("beats.txt");
        var events = dir.File("events.jsonl");

        // A loaded machine can skip tick numbers (the ticker sends the current tick), so the wait is for runs, not for ticks.
        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", events], _ => Event.ReadWritten(events) is var all
                && all.Count(e => e is { Name: "succeeded", Task: "Beat" }) >= 3 && all.Any(e => e is { Name: "succeeded", Task: "every-other" }),
            "Beat ran three times and every-other once", new Dictionary<string, string> { ["SAMPLE_TASKS_OUT"] = output });

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = File.ReadAllLines(output);
        var succeeded = Event.ReadWritten(events).Where(e => e.Name == "succeeded").ToList();
        foreach (var run in succeeded)
            Assert.Contains($"{run.Task} {run.Tick}", lines); // each run was the plugin's own method, given its tick
        var others = succeeded.Where(e => e.Task == "every-other").Select(e => e.Tick).ToList();
        Assert.All(others.Zip(others.Skip(1)), pair => Assert.True(pair.Item2 - pair.Item1 >= 2,
            $"every-other (ticks-between-runs = 1) ran on ticks {pair.Item1} and {pair.Item2}")); // the counter counts from its last run
    }

    [Fact]
    public async Task An_assembly_with_no_task_class_is_exit_2_naming_it()
    {
        using var dir = new TempDir();
        var config = dir.Write("plugin.conf", $$"""
            actor-scheduler.assemblies = ["{{typeof(Xunit.FactAttribute).Assembly.Location}}"]
            """);

        var result = await HostProcess.RunAsync(dir.Path, ["validate", "--config", config]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("actor-scheduler.assemblies[0]:", result.Stderr);
        Assert.Contains("has no class with [PeriodicTask] methods", result.Stderr);
    }

    [Fact]
    public async Task A_file_that_is_not_an_assembly_is_exit_2_naming_it()
    {
        using var dir = new TempDir();
        dir.Write("NotAnAssembly.dll", "hello");
        var config = dir.Write("plugin.conf", """actor-scheduler.assemblies = ["NotAnAssembly.dll"]""");

        var result = await HostProcess.RunAsync(dir.Path, ["validate", "--config", config]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("actor-scheduler.assemblies[0]: \"NotAnAssembly.dll\" is not a .NET assembly", result.Stderr);
    }
}
