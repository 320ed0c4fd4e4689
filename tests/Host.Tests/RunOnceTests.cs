using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary><c>run-once TASK</c>: one run now; exit 0 on success, 1 on failure or timeout.</summary>
public class RunOnceTests
{
    private const string Config = """
        actor-scheduler {
          periodic-interval = 1h
          tasks {
            hello { command = "echo \"$ACTOR_SCHEDULER_TASK $ACTOR_SCHEDULER_TICK\" > hello.out" }
            broken { command = "echo 'no space left' >&2; exit 2" }
            hung { command = "sleep 30", timeout = 300ms }
            off { command = "touch off.out", enabled = off }
          }
        }
        """;

    [Fact]
    public async Task A_successful_run_exits_0()
    {
        using var dir = new TempDir();
        var config = dir.Write("once.conf", Config);

        var result = await HostProcess.RunAsync(dir.Path, ["run-once", "hello", "--config", config]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hello 0", File.ReadAllText(dir.File("hello.out")).Trim());
        Assert.Matches(@"hello tick 0: succeeded in \d+ ms", result.Stdout);
    }

    [Fact]
    public async Task A_failed_run_exits_1_naming_the_task_and_the_error()
    {
        using var dir = new TempDir();
        var config = dir.Write("once.conf", Config);

        var result = await HostProcess.RunAsync(dir.Path, ["run-once", "broken", "--config", config]);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("error: task 'broken' failed: exit code 2: no space left", result.Stderr);
    }

    [Fact]
    public async Task A_timed_out_run_exits_1()
    {
        using var dir = new TempDir();
        var config = dir.Write("once.conf", Config);

        var result = await HostProcess.RunAsync(dir.Path, ["run-once", "hung", "--config", config]);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("error: task 'hung' failed: timed out after 300ms", result.Stderr);
    }

    [Fact]
    public async Task A_disabled_task_still_runs_when_asked_by_name()
    {
        using var dir = new TempDir();
        var config = dir.Write("once.conf", Config);

        var result = await HostProcess.RunAsync(dir.Path, ["run-once", "off", "--config", config]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(dir.File("off.out")));
    }

    [Fact]
    public async Task A_demo_task_runs_once_in_process()
    {
        var result = await HostProcess.RunAsync(Path.GetTempPath(), ["run-once", "_poll_rebooting_instances"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("_poll_rebooting_instances tick 0: succeeded", result.Stdout);
    }
}
