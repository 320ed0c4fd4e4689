using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// SIGINT and SIGTERM: ticking stops, runs in flight are cancelled (command process trees killed), the stop waits for
/// them up to shutdown-timeout, prints the summary and exits 0; a second signal during that wait exits at once.
/// </summary>
public class ShutdownTests
{
    [Theory]
    [InlineData(HostProcess.SigInt, "SIGINT")]
    [InlineData(HostProcess.SigTerm, "SIGTERM")]
    public async Task A_signal_cancels_the_run_in_flight_kills_its_process_tree_and_exits_0_without_waiting_out_shutdown_timeout(
        int signal, string name)
    {
        using var dir = new TempDir();
        var config = dir.Write("stop.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              shutdown-timeout = 20s
              tasks {
                long { command = "sleep 60 & echo $! > child.pid; wait", run-immediately = on, spacing = 1h }
                quick { command = "true" }
              }
            }
            """);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events);

        await host.WaitUntilAsync(() => ChildPid(dir) is not null && Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "quick" }),
            "the long command started its child and quick succeeded");
        var child = ChildPid(dir)!.Value;
        host.Signal(signal);
        // The cancelled command ends at once, so the stop must not wait for shutdown-timeout (20 s).
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(15));

        Assert.True(code == 0, $"exit {code}\n{host.Stdout}\n{host.Stderr}");
        Assert.Contains($"{name} received: stopping", host.Stdout);
        Assert.Contains("Summary of stop", host.Stdout);
        Assert.Contains(Event.ReadFile(events), e => e is { Name: "failed", Task: "long", Tick: 0, Error: "cancelled: task set stop is stopping" });
        Assert.False(HostProcess.IsAlive(child), $"child {child} of the cancelled command outlived the host");
    }

    [Theory]
    [InlineData(HostProcess.SigInt)]
    [InlineData(HostProcess.SigTerm)]
    public async Task No_run_starts_after_a_signal_while_the_stop_waits_for_a_run_that_ignores_cancellation(int signal)
    {
        using var dir = new TempDir();
        var config = dir.Write("stop.conf", $$"""
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              shutdown-timeout = 6s
              assemblies = ["{{StubbornTasks.AssemblyPath}}"]
              tasks {
                sleeper { command = "sleep 60", run-immediately = on, spacing = 1h }
                quick { command = "true" }
              }
            }
            """);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events);
        await host.WaitUntilAsync(() => Event.ReadWritten(events) is var all
                                        && all.Any(e => e is { Name: "started", Task: "stubborn" })
                                        && all.Any(e => e is { Name: "started", Task: "sleeper" })
                                        && all.Count(e => e is { Name: "succeeded", Task: "quick" }) >= 2,
            "stubborn and sleeper in flight, quick ticking");

        host.Signal(signal);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "failed", Task: "sleeper" }), "the sleeper was cancelled");
        // The exit is the marker: the stop waited out shutdown-timeout (6 s, sixty intervals) for the stubborn run, so
        // ticking, had it gone on, would show in the events written between the sleeper's cancellation and the exit.
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(code == 0, $"exit {code}\n{host.Stdout}\n{host.Stderr}");
        Assert.Contains("runs were still in flight after shutdown-timeout 6s", host.Stdout);
        var all = Event.ReadFile(events);
        var afterStop = all.SkipWhile(e => e is not { Name: "failed", Task: "sleeper" }).Skip(1).ToList();
        Assert.True(afterStop.All(e => e.Name != "started"),
            $"runs started after the stop began: {string.Join(", ", afterStop.Where(e => e.Name == "started").Select(e => $"{e.Task} tick {e.Tick}"))}");
        Assert.DoesNotContain(all, e => e is { Name: "succeeded", Task: "stubborn" }); // still in flight at the exit
    }

    [Theory]
    [InlineData(HostProcess.SigInt, HostProcess.SigInt, "SIGINT")]
    [InlineData(HostProcess.SigTerm, HostProcess.SigTerm, "SIGTERM")]
    [InlineData(HostProcess.SigTerm, HostProcess.SigInt, "SIGINT")]
    public async Task A_second_signal_during_the_graceful_stop_exits_0_at_once_without_the_summary(int first, int second, string secondName)
    {
        using var dir = new TempDir();
        var config = dir.Write("stop.conf", $$"""
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              shutdown-timeout = 40s
              assemblies = ["{{StubbornTasks.AssemblyPath}}"]
              tasks {
                sleeper { command = "sleep 60", run-immediately = on, spacing = 1h }
              }
            }
            """);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events);
        await host.WaitUntilAsync(() => Event.ReadWritten(events) is var all
                                        && all.Any(e => e is { Name: "started", Task: "stubborn" })
                                        && all.Any(e => e is { Name: "started", Task: "sleeper" }),
            "stubborn and sleeper in flight");
        host.Signal(first);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "failed", Task: "sleeper" }),
            "the graceful stop began (the sleeper was cancelled)");
        Assert.False(host.HasExited, "the graceful stop did not wait for the stubborn run");

        host.Signal(second);
        // The graceful stop alone would wait 40 s for the stubborn run.
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(10));

        Assert.True(code == 0, $"exit {code}\n{host.Stdout}\n{host.Stderr}");
        Assert.Contains($"{secondName} again: exiting now, without waiting for the runs in flight", host.Stderr);
        Assert.DoesNotContain("Summary of stop", host.Stdout);
        Assert.DoesNotContain("   at ", host.Stdout + host.Stderr);
    }

    private static int? ChildPid(TempDir dir)
    {
        try
        {
            return int.TryParse(File.ReadAllText(dir.File("child.pid")).Trim(), out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
