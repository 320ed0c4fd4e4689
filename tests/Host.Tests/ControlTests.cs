using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary><c>status</c>, <c>pause</c>, <c>resume</c>, <c>trigger</c> against a running host, and their exit codes.</summary>
public class ControlTests
{
    private const string Config = """
        actor-scheduler {
          periodic-interval = 100ms
          initial-delay = 0s
          tasks {
            quick { command = "true" }
            slow { command = "sleep 60", run-immediately = on, spacing = 1h }
          }
        }
        """;

    private const string Token = "control-tests-token";

    [Fact]
    public async Task Status_pause_resume_and_trigger_change_a_running_host_and_refusals_are_exit_1_with_the_reason()
    {
        using var dir = new TempDir();
        var config = dir.Write("control.conf", Config);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, HttpTests.Environment(Token), "run", "--config", config, "--events", events);
        var (url, _) = await ServingHost.WaitAsync(host, events);
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "quick" }), "quick ran");

        var status = await Control(dir, "status", "--url", url, "--token", Token);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Matches(@"(?m)^TASK\s+SCHEDULE\s+STATE\s+NEXT DUE\s+LAST RUN\s+RUNS\s+FAILED$", status.Stdout);
        Assert.Matches(@"(?m)^quick\s+every tick.*\s(idle|running)\s.*succeeded", status.Stdout);
        Assert.Matches(@"(?m)^slow\s+.*running", status.Stdout);

        var pause = await Control(dir, "pause", "quick", "--note", "disk migration", "--until", "2h", "--url", url, "--token", Token);
        Assert.True(pause.ExitCode == 0, pause.ToString());
        Assert.Matches(@"^quick: paused; now (running; )?paused: disk migration, until \S", pause.Stdout.Trim());
        Assert.Single(pause.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var paused = await Control(dir, "status", "--url", url, "--token", Token);
        Assert.Matches(@"(?m)^quick\s+every tick.*\spaused: disk migration, until ", paused.Stdout);

        var resume = await Control(dir, "resume", "quick", "--url", url, "--token", Token);
        Assert.True(resume.ExitCode == 0, resume.ToString());
        Assert.StartsWith("quick: resumed; now ", resume.Stdout.Trim());
        Assert.DoesNotContain("paused", resume.Stdout);

        // The token may come with the URL, as the log line prints it, and the URL from ACTOR_SCHEDULER_URL.
        // quick runs every tick: a trigger that meets its run in flight is refused (409, as below), so it is tried again.
        var trigger = await Control(dir, new Dictionary<string, string> { ["ACTOR_SCHEDULER_URL"] = $"{url}?token={Token}" }, "trigger", "quick");
        for (var attempt = 1; attempt < 10 && trigger.ExitCode == 1 && trigger.Stderr.Contains("run in flight"); attempt++)
            trigger = await Control(dir, new Dictionary<string, string> { ["ACTOR_SCHEDULER_URL"] = $"{url}?token={Token}" }, "trigger", "quick");
        Assert.True(trigger.ExitCode == 0, trigger.ToString());
        Assert.StartsWith("quick: triggered; now ", trigger.Stdout.Trim());

        var busy = await Control(dir, "trigger", "slow", "--url", url, "--token", Token);
        Assert.True(busy.ExitCode == 1, busy.ToString());
        Assert.Contains("run in flight", busy.Stderr);
        Assert.Contains("(HTTP 409)", busy.Stderr);

        var unknown = await Control(dir, "pause", "quik", "--url", url, "--token", Token);
        Assert.True(unknown.ExitCode == 1, unknown.ToString());
        Assert.Contains("no task named 'quik'", unknown.Stderr);
        Assert.Contains("(HTTP 404)", unknown.Stderr);

        var wrongToken = await Control(dir, "status", "--url", url, "--token", "not-it");
        Assert.True(wrongToken.ExitCode == 1, wrongToken.ToString());
        Assert.Contains("(HTTP 401; the token is not this host's)", wrongToken.Stderr);

        foreach (var refused in new[] { busy, unknown, wrongToken })
        {
            Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", refused.Stderr);
            Assert.Equal("", refused.Stdout);
        }

        host.Signal(HostProcess.SigInt);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var all = Event.ReadFile(events);
        var pausedEvent = all.Single(e => e is { Name: "paused", Task: "quick" });
        Assert.Equal("disk migration", pausedEvent.Raw.GetProperty("note").GetString());
        var until = DateTimeOffset.Parse(pausedEvent.Raw.GetProperty("until").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(until - pausedEvent.Time, TimeSpan.FromMinutes(119), TimeSpan.FromMinutes(121));
        Assert.Contains(all, e => e is { Name: "resumed", Task: "quick" });
        Assert.Contains(all, e => e is { Name: "triggered", Task: "quick" });
    }

    [Fact]
    public async Task A_read_only_host_refuses_changes_with_exit_1_and_still_shows_its_status()
    {
        using var dir = new TempDir();
        var config = dir.Write("control.conf", Config + "\nactor-scheduler-host.http.read-only = on\n");
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, HttpTests.Environment(Token), "run", "--config", config, "--events", events);
        var (url, _) = await ServingHost.WaitAsync(host, events);
        var environment = new Dictionary<string, string> { ["ACTOR_SCHEDULER_URL"] = url, ["ACTOR_SCHEDULER_TOKEN"] = Token };

        var status = await Control(dir, environment, "status");
        var pause = await Control(dir, environment, "pause", "quick");

        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("(read-only)", status.Stdout);
        Assert.True(pause.ExitCode == 1, pause.ToString());
        Assert.Contains("read-only", pause.Stderr);
        Assert.Contains("(HTTP 403)", pause.Stderr);
        host.Signal(HostProcess.SigInt);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(Event.ReadFile(events), e => e.Name == "paused");
    }

    [Fact]
    public async Task No_host_is_exit_4_and_usage_errors_are_exit_2()
    {
        using var dir = new TempDir();
        var nowhere = $"http://127.0.0.1:{ServingHost.ClosedPort()}/";

        var noHost = await Control(dir, "status", "--url", nowhere, "--token", Token);
        var noUrl = await Control(dir, "status");
        var noTask = await Control(dir, "pause", "--url", nowhere);
        var badUntil = await Control(dir, "pause", "quick", "--until", "tomorrow", "--url", nowhere);
        var pastUntil = await Control(dir, "pause", "quick", "--until", "2020-01-01T00:00Z", "--url", nowhere);
        var badUrl = await Control(dir, "trigger", "quick", "--url", "127.0.0.1:8080");

        Assert.True(noHost.ExitCode == 4, noHost.ToString());
        Assert.StartsWith($"error: status: no host answered at {nowhere}: ", noHost.Stderr);
        Assert.True(noUrl.ExitCode == 2, noUrl.ToString());
        Assert.Contains("error: status: no host URL; give --url URL or set ACTOR_SCHEDULER_URL", noUrl.Stderr);
        Assert.True(noTask.ExitCode == 2, noTask.ToString());
        Assert.Contains("TASK", noTask.Stderr);
        Assert.True(badUntil.ExitCode == 2, badUntil.ToString());
        Assert.StartsWith("error: --until: \"tomorrow\" is not an ISO-8601 time", badUntil.Stderr);
        Assert.True(pastUntil.ExitCode == 2, pastUntil.ToString());
        Assert.StartsWith("error: --until: \"2020-01-01T00:00Z\" is not in the future", pastUntil.Stderr);
        Assert.True(badUrl.ExitCode == 2, badUrl.ToString());
        Assert.StartsWith("error: --url: \"127.0.0.1:8080\" is not a URL", badUrl.Stderr);
        foreach (var r in new[] { noHost, noUrl, noTask, badUntil, pastUntil, badUrl })
        {
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.DoesNotContain("   at ", r.Stdout + r.Stderr);
        }
    }

    private static Task<HostResult> Control(TempDir dir, params string[] args) => Control(dir, new Dictionary<string, string>(), args);

    private static Task<HostResult> Control(TempDir dir, Dictionary<string, string> environment, params string[] args)
    {
        var all = HttpTests.Environment();
        foreach (var (key, value) in environment)
            all[key] = value;
        return HostProcess.RunAsync(dir.Path, args, all, TimeSpan.FromSeconds(20));
    }
}
