using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>SIGHUP during <c>run</c>: the configuration tasks change in one step, or not at all.</summary>
public class ReloadTests
{
    private const string Before = """
        actor-scheduler {
          periodic-interval = 100ms
          initial-delay = 0s
          tasks {
            keep { command = "true" }
            old { command = "true" }
          }
        }
        """;

    [Fact]
    public async Task Sighup_adds_updates_and_removes_tasks_and_then_only_the_new_set_runs()
    {
        using var dir = new TempDir();
        var config = dir.Write("live.conf", Before);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events);
        await host.WaitUntilAsync(() => Event.ReadWritten(events) is var all
            && all.Any(e => e is { Name: "succeeded", Task: "keep" }) && all.Any(e => e is { Name: "succeeded", Task: "old" }), "keep and old ran");

        dir.Write("live.conf", Before
            .Replace("keep { command = \"true\" }", "keep { command = \"touch updated-ran\" }")
            .Replace("old { command = \"true\" }", "fresh { command = \"true\", ticks-between-runs = 1 }"));
        host.Signal(HostProcess.SigHup);
        await host.WaitUntilAsync(() => Event.ReadWritten(events) is var all
            && all.SkipWhile(e => e.Name != "reloaded").Count(e => e is { Name: "succeeded", Task: "fresh" }) >= 2
            && all.SkipWhile(e => e.Name != "reloaded").Any(e => e is { Name: "succeeded", Task: "keep" }), "reloaded, then fresh ran twice and keep once");
        host.Signal(HostProcess.SigInt);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(code == 0, host.Stdout + host.Stderr);
        var lines = Event.ReadFile(events);
        var reloaded = lines.Single(e => e.Name == "reloaded");
        Assert.Equal(["event", "time", "added", "updated", "removed"], reloaded.Raw.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["fresh"], reloaded.Names("added"));
        Assert.Equal(["keep"], reloaded.Names("updated"));
        Assert.Equal(["old"], reloaded.Names("removed"));
        Assert.Contains(lines, e => e is { Name: "added", Task: "fresh" } && e.Raw.GetProperty("schedule").GetString() == "every 2 ticks = 0.2 s");
        Assert.Contains(lines, e => e is { Name: "removed", Task: "old" });
        var after = lines.SkipWhile(e => e.Name != "reloaded").Where(e => e.Name == "started").Select(e => e.Task).Distinct().Order();
        Assert.Equal(["fresh", "keep"], after);
        Assert.DoesNotContain(lines.TakeWhile(e => e.Name != "added"), e => e.Task == "fresh");
        Assert.Contains("SIGHUP: reloaded", host.Stdout);
        Assert.Contains("fresh added, keep updated, old removed", host.Stdout);
        Assert.True(File.Exists(dir.File("updated-ran")), "the updated command runs from the reload on");
    }

    [Fact]
    public async Task A_broken_file_or_a_setting_that_needs_a_restart_is_refused_whole_and_every_task_runs_on()
    {
        using var dir = new TempDir();
        var config = dir.Write("live.conf", Before);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "old" }), "old ran");

        // A bad value among good changes: nothing of it applies.
        dir.Write("live.conf", Before.Replace("old { command = \"true\" }", "old { command = \"true\", cron = \"61 * * * *\" }\n    other { command = \"true\" }"));
        host.Signal(HostProcess.SigHup);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Count(e => e.Name == "reload-failed") == 1, "the first reload-failed");
        dir.Write("live.conf", Before.Replace("100ms", "1s"));
        host.Signal(HostProcess.SigHup);
        await host.WaitUntilAsync(() => Event.ReadWritten(events) is var all && all.Count(e => e.Name == "reload-failed") == 2
            && all.SkipWhile(e => e.Name != "reload-failed").Count(e => e is { Name: "succeeded", Task: "old" }) >= 3
            && all.SkipWhile(e => e.Name != "reload-failed").Count(e => e is { Name: "succeeded", Task: "keep" }) >= 3, "two refusals, then both tasks ran on");
        host.Signal(HostProcess.SigInt);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(code == 0, host.Stdout + host.Stderr);
        var lines = Event.ReadFile(events);
        var failed = lines.Where(e => e.Name == "reload-failed").ToList();
        Assert.All(failed, e => Assert.Equal(["event", "time", "error"], e.Raw.EnumerateObject().Select(p => p.Name)));
        Assert.StartsWith("actor-scheduler.tasks.old.cron: \"61 * * * *\" is not a valid cron expression", failed[0].Error);
        Assert.Equal("actor-scheduler.periodic-interval: changed, and only tasks under actor-scheduler.tasks change at run time; restart the host to apply it.",
            failed[1].Error);
        Assert.DoesNotContain(lines, e => e.Task == "other" || e.Name is "added" or "updated" or "removed" or "reloaded");
        Assert.Contains("ERROR SIGHUP: reload of " + config + " refused, every task runs on unchanged: actor-scheduler.tasks.old.cron", host.Stdout);
        Assert.DoesNotContain("   at ", host.Stdout + host.Stderr);
    }

    [Fact]
    public async Task Without_a_file_there_is_nothing_to_reload()
    {
        using var dir = new TempDir();
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--events", events);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e.Name == "succeeded"), "a run of the demo");

        host.Signal(HostProcess.SigHup);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e.Name == "reload-failed"), "reload-failed");
        host.Signal(HostProcess.SigInt);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(code == 0, host.Stdout + host.Stderr);
        Assert.Contains("the built-in demo has no file to re-read", Event.ReadFile(events).Single(e => e.Name == "reload-failed").Error);
    }
}
