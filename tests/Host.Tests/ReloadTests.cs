using System.Runtime.InteropServices;
using ActorScheduler.Testing.Support;
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
    [Fact]
    public async Task A_change_to_a_cluster_scoped_task_is_refused_naming_the_task_and_its_old_definition_runs_on()
    {
        using var dir = new TempDir();
        var port = FreePorts.One();
        string Node(string guarded, string local) => ClusterHarness.NodeConfig("reload", port, [port], "", ClusterHarness.NoState, $$"""
                guarded { command = "{{guarded}}", scope = cluster }
                local { command = "{{local}}" }
            """);
        var config = dir.Write("node.conf", Node("echo old >> guarded.out", "true"));
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "guarded" }),
            "the cluster task ran (the one-node cluster is up)", TimeSpan.FromSeconds(60));

        // The cluster task's command changes, and a node task's with it: the whole file is refused.
        dir.Write("node.conf", Node("echo new >> guarded.out", "touch local-updated"));
        host.Signal(HostProcess.SigHup);
        await host.WaitUntilAsync(() => Event.ReadWritten(events) is var all && all.Any(e => e.Name == "reload-failed")
            && all.SkipWhile(e => e.Name != "reload-failed").Count(e => e is { Name: "succeeded", Task: "guarded" }) >= 2
            && all.SkipWhile(e => e.Name != "reload-failed").Count(e => e is { Name: "succeeded", Task: "local" }) >= 2,
            "reload-failed, then guarded and local ran twice more", TimeSpan.FromSeconds(60));
        host.Signal(HostProcess.SigInt);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(code == 0, host.Stdout + host.Stderr);
        var lines = Event.ReadFile(events);
        Assert.Equal("actor-scheduler.tasks.guarded: a cluster-scoped task cannot change at run time (every node must run the same " +
                     "definition of it); restart the nodes to apply it.", lines.Single(e => e.Name == "reload-failed").Error);
        Assert.DoesNotContain(lines, e => e.Name is "added" or "updated" or "removed" or "reloaded");
        // Every run of guarded, those after the refusal included, ran the old command.
        var ran = File.ReadAllLines(dir.File("guarded.out"));
        Assert.True(ran.Length >= 3 && ran.All(l => l == "old"), $"guarded.out: {string.Join(", ", ran)}");
        Assert.False(File.Exists(dir.File("local-updated")), "the node task's change applied from a refused file");
    }

    private const string Token = "reload-tests-token";

    [Fact]
    public async Task An_unchanged_task_keeps_its_pause_across_a_reload_that_updates_another()
    {
        using var dir = new TempDir();
        const string text = """
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              tasks {
                steady { command = "true" }
                other { command = "true" }
              }
            }
            """;
        var config = dir.Write("live.conf", text);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, HttpTests.Environment(Token), "run", "--config", config, "--events", events);
        var (url, _) = await ServingHost.WaitAsync(host, events);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "steady" }), "steady ran");

        var pause = await Control(dir, "pause", "steady", "--note", "kept across reloads", "--until", "2h", "--url", url, "--token", Token);
        Assert.True(pause.ExitCode == 0, pause.ToString());
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "paused", Task: "steady" }), "the paused event");
        dir.Write("live.conf", text.Replace("other { command = \"true\" }", "other { command = \"touch other-updated\" }"));
        host.Signal(HostProcess.SigHup);
        // Three runs of other after the reload: steady, had the reload resumed it, would have started in those ticks too.
        await host.WaitUntilAsync(() => Event.ReadWritten(events).SkipWhile(e => e.Name != "reloaded")
            .Count(e => e is { Name: "succeeded", Task: "other" }) >= 3, "reloaded, then other ran three times");
        var status = await Control(dir, "status", "--url", url, "--token", Token);
        host.Signal(HostProcess.SigInt);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(code == 0, host.Stdout + host.Stderr);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Matches(@"(?m)^steady\s+.*\spaused: kept across reloads, until ", status.Stdout);
        var lines = Event.ReadFile(events);
        var reloaded = lines.Single(e => e.Name == "reloaded");
        Assert.Equal(["other"], reloaded.Names("updated"));
        Assert.Empty(reloaded.Names("added").Concat(reloaded.Names("removed")));
        Assert.DoesNotContain(lines.SkipWhile(e => e.Name != "reloaded"), e => e is { Name: "started" or "resumed", Task: "steady" });
        Assert.True(File.Exists(dir.File("other-updated")), "the updated task runs its new command");
    }

    [Fact]
    public async Task SIGHUPs_during_a_reload_make_one_more_reload_not_one_each()
    {
        if (!OperatingSystem.IsLinux())
            return; // a FIFO holds the reload open
        using var dir = new TempDir();
        string Tasks(params string[] names) => Before.Replace("old { command = \"true\" }",
            "old { command = \"true\" }" + string.Concat(names.Select(n => $"\n    {n} {{ command = \"true\", ticks-between-runs = 9 }}")));
        var config = dir.Write("live.conf", Before);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "old" }), "old ran");

        // The file becomes a FIFO: the reload that reads it waits until this test writes, so it is under way for certain.
        File.Delete(config);
        Assert.True(Native.mkfifo(config, 0x1B6 /* 0666 */) == 0, $"mkfifo failed: errno {Marshal.GetLastPInvokeError()}");
        host.Signal(HostProcess.SigHup);
        var open = Task.Run(() => new FileStream(config, FileMode.Open, FileAccess.Write)); // returns once the host opens it to read
        var writer = await open.WaitAsync(TimeSpan.FromSeconds(30));
        // Four more SIGHUPs during that reload, each once the host has taken the one before (its log line says so).
        for (var i = 1; i <= 4; i++)
        {
            host.Signal(HostProcess.SigHup);
            var seen = i;
            await host.WaitUntilAsync(() => Acknowledged(host.Stdout) >= seen, $"the host took SIGHUP {seen + 1}");
        }

        // The first reload reads the FIFO (adding a); the one queued behind it reads a plain file again (adding b).
        File.Delete(config);
        dir.Write("live.conf", Tasks("a", "b"));
        await using (writer)
            await writer.WriteAsync(System.Text.Encoding.UTF8.GetBytes(Tasks("a")));
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Count(e => e.Name == "reloaded") >= 2, "two reloads");
        // A last SIGHUP (adding last): any reload still queued would come before it.
        dir.Write("live.conf", Tasks("a", "b", "last"));
        host.Signal(HostProcess.SigHup);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "added", Task: "last" })
            && Event.ReadWritten(events).SkipWhile(e => e is not { Name: "added", Task: "last" }).Any(e => e.Name == "reloaded"), "the last reload");
        host.Signal(HostProcess.SigInt);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(code == 0, host.Stdout + host.Stderr);
        var reloads = Event.ReadFile(events).Where(e => e.Name == "reloaded").Select(e => string.Join(",", e.Names("added"))).ToList();
        Assert.Equal(["a", "b", "last"], reloads);
        Assert.Single(host.Stdout.Split('\n'), l => l.Contains(FollowsLine, StringComparison.Ordinal));
        Assert.Equal(3, host.Stdout.Split('\n').Count(l => l.Contains(JoinsLine, StringComparison.Ordinal)));
    }

    private const string FollowsLine = "SIGHUP: a reload is under way; one more follows it, of the file as it is then";
    private const string JoinsLine = "SIGHUP: a reload is already queued; this signal joins it";

    /// <summary>The SIGHUPs the host took while a reload was under way or queued (one log line each).</summary>
    private static int Acknowledged(string stdout) =>
        stdout.Split('\n').Count(l => l.Contains(FollowsLine, StringComparison.Ordinal) || l.Contains(JoinsLine, StringComparison.Ordinal));

    private static Task<HostResult> Control(TempDir dir, params string[] args) =>
        HostProcess.RunAsync(dir.Path, args, HttpTests.Environment(), TimeSpan.FromSeconds(20));

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int mkfifo(string path, uint mode);
    }
}
