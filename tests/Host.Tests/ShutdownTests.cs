using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>Graceful stop on SIGINT and SIGTERM with a run in flight: cancelled, process tree killed, summary, exit 0.</summary>
public class ShutdownTests
{
    [Theory]
    [InlineData(HostProcess.SigInt, "SIGINT")]
    [InlineData(HostProcess.SigTerm, "SIGTERM")]
    public async Task A_signal_stops_ticking_cancels_the_run_in_flight_kills_its_process_tree_and_exits_0(int signal, string name)
    {
        using var dir = new TempDir();
        var config = dir.Write("stop.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              shutdown-timeout = 5s
              tasks {
                long { command = "sleep 60 & echo $! > child.pid; wait", run-immediately = on, spacing = 1h }
                quick { command = "true" }
              }
            }
            """);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events);

        await WaitUntil(() => File.Exists(dir.File("child.pid")) && File.ReadAllText(dir.File("child.pid")).Trim().Length > 0
                              && File.ReadAllText(events).Contains("\"succeeded\",\"task\":\"quick\""), TimeSpan.FromSeconds(15));
        var child = int.Parse(File.ReadAllText(dir.File("child.pid")).Trim());
        var sent = DateTime.UtcNow;
        host.Signal(signal);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(15));

        Assert.True(code == 0, $"exit {code}\n{host.Stdout}\n{host.Stderr}");
        Assert.True(DateTime.UtcNow - sent < TimeSpan.FromSeconds(5), "the stop took longer than shutdown-timeout");
        Assert.Contains($"{name} received: stopping", host.Stdout);
        Assert.Contains("Summary of stop", host.Stdout);
        var all = Event.ReadFile(events);
        Assert.Contains(all, e => e is { Name: "failed", Task: "long", Tick: 0, Error: "cancelled: task set stop is stopping" });
        var lastTick = all.Max(e => e.Tick);
        await Task.Delay(300);
        Assert.Equal(lastTick, Event.ReadFile(events).Max(e => e.Tick)); // no tick after the stop
        Assert.False(HostProcess.IsAlive(child), $"child {child} of the cancelled command outlived the host");
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Safe(condition))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("condition not met in time");
            await Task.Delay(50);
        }
    }

    private static bool Safe(Func<bool> condition)
    {
        try
        {
            return condition();
        }
        catch (IOException)
        {
            return false;
        }
    }
}
