using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>The command line itself: --help everywhere, exit code 2 with one line for every usage mistake.</summary>
public class CommandLineTests
{
    private static readonly string Cwd = Path.GetTempPath();

    [Theory]
    [InlineData("run", "--for")]
    [InlineData("simulate", "--ticks")]
    [InlineData("validate", "--config")]
    [InlineData("list", "--config")]
    [InlineData("run-once", "TASK")]
    public async Task Help_on_every_command_describes_its_options_and_exits_0(string command, string expected)
    {
        var result = await HostProcess.RunAsync(Cwd, [command, "--help"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(expected, result.Stdout);
        Assert.Contains(command, result.Stdout);
    }

    [Fact]
    public async Task Help_of_the_root_lists_every_command()
    {
        var result = await HostProcess.RunAsync(Cwd, ["--help"]);

        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[] { "run", "simulate", "validate", "list", "run-once" })
            Assert.Contains(command, result.Stdout);
    }

    [Theory]
    [InlineData(new string[0], "a command is required")]
    [InlineData(new[] { "start" }, "'start'")]
    [InlineData(new[] { "run", "--forever" }, "'--forever'")]
    [InlineData(new[] { "run", "--for", "soon" }, "--for: \"soon\" is not a duration")]
    [InlineData(new[] { "run", "--for", "-3s" }, "--for")]
    [InlineData(new[] { "simulate" }, "exactly one of --ticks N and --for DURATION")]
    [InlineData(new[] { "simulate", "--ticks", "10", "--for", "1m" }, "exactly one of --ticks N and --for DURATION")]
    [InlineData(new[] { "simulate", "--ticks", "many" }, "many")]
    [InlineData(new[] { "simulate", "--ticks", "-1" }, "--ticks")]
    [InlineData(new[] { "run-once" }, "TASK")]
    [InlineData(new[] { "run-once", "no_such_task" }, "no task named 'no_such_task'")]
    [InlineData(new[] { "run-once", "_sync_power_state" }, "did you mean '_sync_power_states'?")]
    [InlineData(new[] { "validate", "--config", "does-not-exist.conf" }, "does-not-exist.conf: configuration file not found")]
    [InlineData(new[] { "validate", "--config" }, "--config")]
    public async Task A_wrong_command_option_or_value_is_exit_2_with_a_one_line_reason(string[] args, string expected)
    {
        var result = await HostProcess.RunAsync(Cwd, args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", result.Stderr);
    }

    [Fact]
    public async Task Validate_accepts_the_built_in_demo()
    {
        var result = await HostProcess.RunAsync(Cwd, ["validate"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("built-in demo (hocon/host.conf): valid: task set ComputeManager, 13 tasks", result.Stdout);
    }

    [Fact]
    public async Task List_shows_each_schedule_in_words_with_its_first_due_ticks()
    {
        var result = await HostProcess.RunAsync(Cwd, ["list"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n');
        string Line(string task) => lines.Single(l => l.StartsWith(task + " ", StringComparison.Ordinal));
        Assert.Contains("every 11 ticks = 11 s", Line("_sync_power_states"));
        Assert.Contains("tick 11 (+11s), tick 22 (+22s), tick 33 (+33s)", Line("_sync_power_states"));
        Assert.Contains("every 41 ticks = 41 s", Line("_run_image_cache_manager_pass"));
        Assert.Contains("every tick = 1 s", Line("update_available_resource"));
        Assert.Contains("every 2s", Line("_sync_scheduler_instance_info"));
        Assert.Contains("disabled", Line("_poll_volume_usage"));
        Assert.Contains("command: df -P . | tail -n 1", Line("report-disk-usage"));
    }

    [Fact]
    public async Task List_of_a_file_shows_spacing_ticks_run_immediately_and_options()
    {
        using var dir = new TempDir();
        var config = dir.Write("ops.conf", """
            actor-scheduler {
              periodic-interval = 60s
              tasks {
                backup { command = "true", spacing = 10m, timeout = 30s }
                rotate { command = ["logrotate", "/etc/logrotate.conf"], ticks-between-runs = 10, run-immediately = on, overlap = queue }
                off { command = "true", enabled = off }
              }
            }
            """);

        var result = await HostProcess.RunAsync(dir.Path, ["list", "--config", config]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Task set ops from", result.Stdout);
        Assert.Matches(@"backup\s+every 10m\s+tick 10 \(\+10m\), tick 20 \(\+20m\)", result.Stdout);
        Assert.Matches(@"rotate\s+every 11 ticks = 660 s, and at start\s+tick 0 \(\+0s\), tick 11 \(\+11m\), tick 22 \(\+22m\)", result.Stdout);
        Assert.Contains("overlap queue; command: logrotate /etc/logrotate.conf", result.Stdout);
        Assert.Contains("timeout 30s; command: true", result.Stdout);
        Assert.Matches(@"off\s+disabled\s+never", result.Stdout);
    }
}
