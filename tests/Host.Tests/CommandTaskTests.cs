using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Host.Tests;

/// <summary>Command tasks: shell and list forms, environment, working directory, exit codes, timeouts with a process tree.</summary>
public class CommandTaskTests(ITestOutputHelper output)
{
    private const int SigKill = 9;
    private const int SigCont = 18;
    private const int SigStop = 19;

    [Fact]
    public async Task A_command_gets_its_task_tick_scheduled_time_environment_and_working_directory()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("work"));
        var config = dir.Write("env.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              tasks {
                shell {
                  command = "echo \"$ACTOR_SCHEDULER_TASK $ACTOR_SCHEDULER_TICK $ACTOR_SCHEDULER_SCHEDULED_AT $GREETING $(pwd)\" >> ../shell.out"
                  working-directory = "work"
                  environment { GREETING = hello }
                  ticks-between-runs = 1
                }
                argv {
                  command = ["/bin/sh", "-c", "echo \"$ACTOR_SCHEDULER_TASK $1\" >> argv.out", "sh", "literal $HOME"]
                }
              }
            }
            """);

        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", events], _ => Event.ReadWritten(events) is var all
                && all.Any(e => e is { Name: "succeeded", Task: "shell" }) && all.Any(e => e is { Name: "succeeded", Task: "argv" }),
            "shell and argv succeeded");

        Assert.True(result.ExitCode == 0, result.ToString());
        var shell = File.ReadAllLines(dir.File("shell.out"));
        Assert.NotEmpty(shell);
        var first = shell[0].Split(' ');
        Assert.Equal("shell", first[0]);
        // The run's own tick (which one comes first depends on ticks the machine's load made the ticker coalesce).
        Assert.Contains(Event.ReadFile(events), e => e is { Name: "started", Task: "shell" } && e.Tick.ToString(System.Globalization.CultureInfo.InvariantCulture) == first[1]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", first[2]);
        Assert.Equal("hello", first[3]);
        Assert.Equal(dir.File("work"), first[4]);
        // A list runs without a shell: "$HOME" reaches the program as written.
        Assert.Contains("argv literal $HOME", File.ReadAllLines(dir.File("argv.out")));
    }

    [Fact]
    public async Task A_non_zero_exit_fails_the_run_with_the_code_and_the_last_lines_of_stderr()
    {
        using var dir = new TempDir();
        var config = dir.Write("fail.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              tasks {
                noisy { command = "for i in 1 2 3 4 5 6 7; do echo \"err $i\" >&2; done; echo out; exit 7", run-immediately = on, spacing = 1h }
                missing { command = ["/no/such/program"], run-immediately = on, spacing = 1h }
              }
            }
            """);
        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", events], _ => Event.ReadWritten(events) is var all
                && all.Any(e => e is { Name: "failed", Task: "noisy" }) && all.Any(e => e is { Name: "failed", Task: "missing" }),
            "noisy and missing failed");

        Assert.True(result.ExitCode == 0, result.ToString());
        var all = Event.ReadFile(events);
        Assert.Equal("exit code 7: err 3 | err 4 | err 5 | err 6 | err 7", all.Single(e => e is { Name: "failed", Task: "noisy" }).Error);
        Assert.StartsWith("cannot start '/no/such/program'", all.Single(e => e is { Name: "failed", Task: "missing" }).Error);
    }

    [Fact]
    public async Task A_timeout_kills_the_command_whole_process_tree()
    {
        using var dir = new TempDir();
        var config = dir.Write("tree.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              tasks {
                tree { command = "sleep 30 & echo $! > child.pid; sleep 30", timeout = 300ms, run-immediately = on, spacing = 1h }
              }
            }
            """);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events);

        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "timed-out", Task: "tree" }), "tree timed out");
        var child = int.Parse(File.ReadAllText(dir.File("child.pid")).Trim());
        // While the host runs on: the timeout itself killed the background child, not the host's exit.
        await host.WaitUntilAsync(() => !HostProcess.IsAlive(child), $"background child {child} of the timed-out command ended");
        host.Signal(HostProcess.SigInt);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(code == 0, $"exit {code}\n{host.Stdout}\n{host.Stderr}");
        Assert.Contains(Event.ReadFile(events), e => e is { Name: "timed-out", Task: "tree", Error: "timed out after 300ms" });
        Assert.Matches(@"tree\s+1\s+0\s+0\s+1\s", host.Stdout);
    }

    [Fact]
    public async Task SIGKILL_of_the_host_leaves_none_of_its_command_processes_and_their_children_behind()
    {
        if (!OperatingSystem.IsLinux())
            return; // /proc, and the launcher: Linux only
        using var dir = new TempDir();
        var mark = Guid.NewGuid().ToString("N");
        var config = dir.Write("kill.conf", $$"""
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              tasks {
                plain { command = "sleep 30", run-immediately = on, spacing = 1h, environment { {{Processes.MarkVariable}} = {{mark}} } }
                children { command = "sleep 30; echo done", run-immediately = on, spacing = 1h, environment { {{Processes.MarkVariable}} = {{mark}} } }
                background { command = "sleep 30 & sleep 31", run-immediately = on, spacing = 1h, environment { {{Processes.MarkVariable}} = {{mark}} } }
                argv { command = ["sleep", "30"], run-immediately = on, spacing = 1h, environment { {{Processes.MarkVariable}} = {{mark}} } }
              }
            }
            """);
        var events = dir.File("events.jsonl");
        // Idle thread-pool threads retire after 100 ms instead of 20 s: the threads that started the commands end while
        // they run, which must not end them.
        using var host = HostProcess.Start(dir.Path, new Dictionary<string, string> { ["DOTNET_ThreadPool_ThreadTimeoutMs"] = "100" },
            "run", "--config", config, "--events", events);

        // Four commands and their five sleeps: plain (sleep: plain words run without the shell), children (sh, sleep),
        // background (sh, two sleeps), argv (sleep). (That a command outlives the thread that asked for it is checked in InProcessTests.)
        await host.WaitUntilAsync(() => Processes.Marked(mark).Count >= 7 && Processes.Marked(mark).Count(p => IsSleep(p.CommandLine)) >= 5,
            "the four commands and their five sleeps run", TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(Event.ReadWritten(events), e => e.Name is "succeeded" or "failed" or "timed-out");

        var watch = System.Diagnostics.Stopwatch.StartNew();
        host.Signal(SigKill);
        // The kernel and the watchdog end them soon after the kill: wait for that, with a generous bound.
        var bound = TimeSpan.FromSeconds(30);
        while (Processes.Marked(mark).Count > 0 && watch.Elapsed < bound)
            await Task.Delay(50);
        var left = Processes.Marked(mark);

        Assert.True(left.Count == 0, $"left {bound.TotalSeconds} s after SIGKILL: {Processes.Describe(left)}");
        output.WriteLine($"every command process had ended {watch.Elapsed.TotalMilliseconds:F0} ms after SIGKILL");
    }

    /// <summary>
    /// docs/host.md, "Command tasks": a host that stops renewing its watchdog's deadline (here frozen with
    /// SIGSTOP) has its commands killed after the deadline, with the host still frozen; resumed, it finds the run failed.
    /// </summary>
    [Fact]
    public async Task A_frozen_host_has_its_commands_killed_by_the_watchdog_and_finds_the_run_failed_when_it_resumes()
    {
        if (!OperatingSystem.IsLinux())
            return;
        using var dir = new TempDir();
        var (host, mark, events) = await StartSleeperAsync(dir);
        using var _ = host;

        var watch = System.Diagnostics.Stopwatch.StartNew();
        host.Signal(SigStop);
        try
        {
            var bound = TimeSpan.FromSeconds(30);
            while (Processes.Marked(mark).Count > 0 && watch.Elapsed < bound)
                await Task.Delay(50);
            Assert.True(Processes.Marked(mark).Count == 0, $"left {bound.TotalSeconds} s after SIGSTOP: {Processes.Describe(Processes.Marked(mark))}");
            output.WriteLine($"the frozen host's command processes had ended {watch.Elapsed.TotalMilliseconds:F0} ms after SIGSTOP (deadline 3 s)");
        }
        finally
        {
            host.Signal(SigCont);
        }

        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "failed", Task: "sleeper" }), "the killed run failed");
        host.Signal(HostProcess.SigInt);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>A host that stalls for less than the deadline (here 1 s of SIGSTOP) keeps its commands.</summary>
    [Fact]
    public async Task A_host_stalled_for_a_second_keeps_its_commands()
    {
        if (!OperatingSystem.IsLinux())
            return;
        using var dir = new TempDir();
        var (host, mark, events) = await StartSleeperAsync(dir);
        using var _ = host;

        host.Signal(SigStop);
        await Task.Delay(TimeSpan.FromSeconds(1));
        host.Signal(SigCont);
        await Task.Delay(TimeSpan.FromSeconds(5)); // past the deadline, counted from the stall

        Assert.Contains(Processes.Marked(mark), p => IsSleep(p.CommandLine));
        Assert.DoesNotContain(Event.ReadWritten(events), e => e is { Task: "sleeper" } && e.Name is "failed" or "succeeded");
        host.Signal(HostProcess.SigInt);
        await host.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>A host whose one task runs "sleep 60" once, its processes marked; returns once the sleep runs.</summary>
    private static async Task<(HostProcess Host, string Mark, string Events)> StartSleeperAsync(TempDir dir)
    {
        var mark = Guid.NewGuid().ToString("N");
        var config = dir.Write("sleeper.conf", $$"""
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              shutdown-timeout = 1s
              tasks {
                sleeper { command = "sleep 60", run-immediately = on, spacing = 1h, environment { {{Processes.MarkVariable}} = {{mark}} } }
              }
            }
            """);
        var events = dir.File("events.jsonl");
        var host = HostProcess.Start(dir.Path, new Dictionary<string, string>(), "run", "--config", config, "--events", events);
        try
        {
            await host.WaitUntilAsync(() => Processes.Marked(mark).Any(p => IsSleep(p.CommandLine)), "the command runs", TimeSpan.FromSeconds(30));
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return (host, mark, events);
    }

    private static bool IsSleep(string commandLine) =>
        commandLine.StartsWith("sleep ", StringComparison.Ordinal) || commandLine.StartsWith("/usr/bin/sleep ", StringComparison.Ordinal)
                                                                  || commandLine.StartsWith("/bin/sleep ", StringComparison.Ordinal);

    [Fact]
    public async Task Without_bash_on_PATH_commands_run_and_one_warning_says_they_can_outlive_the_host()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("bin")); // PATH: nothing in it (echo is the shell's own)
        var config = dir.Write("plain.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              tasks { hello { command = "echo hello" } }
            }
            """);
        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", events],
            _ => Event.ReadWritten(events).Count(e => e is { Name: "succeeded", Task: "hello" }) >= 2, "hello succeeded twice",
            new Dictionary<string, string> { ["PATH"] = dir.File("bin") });

        Assert.True(result.ExitCode == 0, result.ToString());
        var warnings = result.Stdout.Split('\n').Where(l => l.Contains("command processes can outlive this host", StringComparison.Ordinal)).ToList();
        Assert.True(warnings.Count == 1, result.ToString());
        Assert.Contains(OperatingSystem.IsLinux() ? "bash, which runs the commands' watchdog, not found on PATH" : "Linux only", warnings[0]);
    }

    [Fact]
    public async Task A_host_started_with_SIGCHLD_ignored_still_reads_its_commands_exit_codes()
    {
        if (!OperatingSystem.IsLinux())
            return;
        using var dir = new TempDir();
        var config = dir.Write("once.conf", """actor-scheduler.tasks { one { command = ["sh", "-c", "sleep 0.2; exit 4"] } }""");
        // perl (Debian's perl-base) ignores SIGCHLD and execs the host, which inherits the disposition.
        var start = new System.Diagnostics.ProcessStartInfo("perl") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir.Path };
        foreach (var arg in (string[])["-e", "$SIG{CHLD} = 'IGNORE'; exec @ARGV or die", "dotnet", HostProcess.HostDll, "run-once", "one", "--config", config])
            start.ArgumentList.Add(arg);
        using var host = System.Diagnostics.Process.Start(start)!;
        var stdout = host.StandardOutput.ReadToEndAsync();
        var stderr = await host.StandardError.ReadToEndAsync();
        await host.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(stderr.Contains("error: task 'one' failed: exit code 4", StringComparison.Ordinal), $"{await stdout}\n{stderr}");
    }

    [Fact]
    public async Task A_chatty_command_succeeds_with_its_output_logged_at_debug()
    {
        using var dir = new TempDir();
        var config = dir.Write("chatty.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              tasks {
                chatty { command = "seq 1 200000; echo last-line-of-stdout", run-immediately = on, spacing = 1h }
              }
            }
            """);
        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", events],
            _ => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "chatty" }), "chatty succeeded");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("last-line-of-stdout", result.Stdout); // output is logged at debug only
    }
}
