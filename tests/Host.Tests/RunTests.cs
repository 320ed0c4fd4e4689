using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary><c>run</c>: the task set live, with the events file, the summary and the exit codes.</summary>
public class RunTests
{
    [Fact]
    public async Task The_built_in_demo_shows_runs_a_failure_and_overruns_and_its_summary_agrees_with_the_events()
    {
        using var dir = new TempDir();
        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--events", events], _ => Event.ReadWritten(events) is var all
                && all.Any(e => e is { Name: "failed", Task: "_heal_instance_info_cache", Tick: 3 })
                && all.Any(e => e is { Name: "overrun", Task: "update_available_resource" })
                && all.Any(e => e is { Name: "succeeded", Task: "_sync_scheduler_instance_info", Tick: 2 }),
            "the demo's failure of tick 3, an overrun and the spaced task's run of tick 2");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"INFO  _poll_rebooting_instances tick 1: succeeded in \d+ ms", result.Stdout);
        Assert.Contains("ERROR Error during ComputeManager._heal_instance_info_cache: network info cache refresh", result.Stdout);
        Assert.Matches(@"WARN  ComputeManager.update_available_resource is due on tick \d+ but its run of tick \d+ is still in flight", result.Stdout);
        Assert.Contains("Summary of ComputeManager", result.Stdout);

        // The demo's heal task fails on ticks 3, 7, 11, ... and succeeds on the others; a run cut by the stop is cancelled.
        var all = Event.ReadFile(events);
        var heal = all.Where(e => e.Task == "_heal_instance_info_cache").ToList();
        var failures = heal.Where(e => e.Name == "failed" && !e.Error!.StartsWith("cancelled:", StringComparison.Ordinal)).ToList();
        Assert.All(failures, e => Assert.Equal(3, e.Tick % 4));
        Assert.All(heal.Where(e => e.Name == "succeeded"), e => Assert.NotEqual(3, e.Tick % 4));
        var counts = result.Summary("_heal_instance_info_cache");
        Assert.Equal(heal.Count(e => e.Name == "started"), counts.Runs);
        Assert.Equal(heal.Count(e => e.Name == "succeeded"), counts.Succeeded);
        Assert.Equal(failures.Count, counts.Failed);
        Assert.Equal(counts.Runs, counts.Succeeded + counts.Failed + counts.Cancelled);
        var poll = result.Summary("_poll_rebooting_instances");
        Assert.Equal(all.Count(e => e is { Name: "started", Task: "_poll_rebooting_instances" }), poll.Runs);
        Assert.Equal(0, poll.Failed);
        Assert.Equal(all.Count(e => e is { Name: "overrun", Task: "update_available_resource" }),
            result.Summary("update_available_resource").Overruns);
    }

    [Fact]
    public async Task Run_ends_by_itself_with_exit_0_when_for_elapses_having_ticked_no_faster_than_the_interval()
    {
        using var dir = new TempDir();
        var config = dir.Write("timed.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              tasks { beat { command = "true" } }
            }
            """);
        var events = dir.File("events.jsonl");
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var result = await HostProcess.RunAsync(dir.Path, ["run", "--config", config, "--for", "1500ms", "--events", events]);

        watch.Stop();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("--for 1500ms elapsed: stopping", result.Stdout);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(1500), $"ended after {watch.Elapsed}");
        // Tick k is due k intervals after the start: the process's lifetime holds at most one tick per interval (a loaded
        // machine may tick fewer times, never more).
        var summary = Regex.Match(result.Stdout, @"Summary of timed: (\d+) ticks in ");
        Assert.True(summary.Success, result.ToString());
        var ticks = long.Parse(summary.Groups[1].Value);
        Assert.InRange(ticks, 0, (long)(watch.Elapsed.TotalSeconds / 0.1) + 1);
        var beats = Event.ReadFile(events).Where(e => e is { Name: "started", Task: "beat" }).Select(e => e.Tick).ToList();
        Assert.Equal(beats.Distinct().Count(), beats.Count);
        Assert.All(beats, t => Assert.InRange(t, 1, ticks));
        Assert.Equal(beats.Count, result.Summary("beat").Runs);
    }

    [Fact]
    public async Task Events_carry_exactly_the_contract_fields_for_each_kind()
    {
        using var dir = new TempDir();
        var config = dir.Write("ev.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              tasks {
                ok { command = "true" }
                bad { command = "echo 'line one' >&2; echo 'disk full' >&2; exit 3", run-immediately = on, spacing = 1h }
                slow { command = "sleep 5", timeout = 200ms, run-immediately = on, spacing = 1h }
                busy { command = "sleep 0.35", ticks-between-runs = 0 }
              }
            }
            """);
        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", events], _ => Event.ReadWritten(events) is var all
                && all.Any(e => e is { Name: "failed", Task: "bad" }) && all.Any(e => e is { Name: "timed-out", Task: "slow" })
                && all.Any(e => e is { Name: "overrun", Task: "busy" }) && all.Any(e => e is { Name: "succeeded", Task: "ok" }),
            "one event of each kind");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = File.ReadAllLines(events);
        Assert.NotEmpty(lines);
        var all = lines.Select(Event.ParseLine).ToList();
        foreach (var e in all)
        {
            var fields = e.Raw.EnumerateObject().Select(p => p.Name).ToList();
            string[] expected = e.Name switch
            {
                "listening" => ["event", "url", "time"],
                "overrun" or "missed" => ["event", "task", "tick", "time"],
                "started" => ["event", "task", "tick", "time", "attempt"],
                "succeeded" => ["event", "task", "tick", "time", "attempt", "durationMs"],
                "failed" or "timed-out" => ["event", "task", "tick", "time", "attempt", "durationMs", "error"],
                var other => throw new Xunit.Sdk.XunitException($"unexpected event '{other}'"),
            };
            Assert.Equal(expected, fields);
        }

        Assert.All(lines, l => Assert.Matches(new Regex("\"time\":\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\""), l));
        var failed = all.First(e => e is { Name: "failed", Task: "bad" });
        Assert.Equal("exit code 3: line one | disk full", failed.Error);
        Assert.Equal(0, failed.Tick);
        Assert.Equal(1, failed.Raw.GetProperty("attempt").GetInt32());
        var timedOut = all.Single(e => e is { Name: "timed-out", Task: "slow" });
        Assert.Equal("timed out after 200ms", timedOut.Error);
        Assert.InRange(timedOut.DurationMs!.Value, 190, 4999); // at the timeout, well before the command's own end (5 s)
        Assert.Contains(all, e => e is { Name: "overrun", Task: "busy" });
        Assert.Contains(all, e => e is { Name: "succeeded", Task: "ok" });
        var started = all.First(e => e is { Name: "started", Task: "ok" });
        var succeeded = all.First(e => e is { Name: "succeeded", Task: "ok" } && e.Tick == started.Tick);
        Assert.True(succeeded.Time >= started.Time);
    }

    [Fact]
    public async Task Events_to_standard_output_send_the_logs_and_summary_to_standard_error()
    {
        using var dir = new TempDir();
        var config = dir.Write("quiet.conf", """
            actor-scheduler { periodic-interval = 100ms, tasks { ok { command = "echo chatty" } } }
            """);

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", "-"],
            host => Event.Parse(host.Stdout).Any(e => e is { Name: "succeeded", Task: "ok", Tick: 1 }), "ok succeeded on tick 1");

        Assert.True(result.ExitCode == 0, result.ToString());
        var events = Event.Parse(result.Stdout);
        Assert.Contains(events, e => e is { Name: "succeeded", Task: "ok" });
        Assert.Contains("Summary of quiet", result.Stderr);
        Assert.Contains("ok tick 1: succeeded", result.Stderr);
    }

    [Fact]
    public async Task With_raise_on_error_a_failure_ends_run_with_exit_1_naming_the_task()
    {
        using var dir = new TempDir();
        var config = dir.Write("strict.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              raise-on-error = on
              tasks {
                fine { command = "true" }
                broken { command = "echo 'disk full' >&2; exit 4", ticks-between-runs = 2 }
              }
            }
            """);

        var result = await HostProcess.RunAsync(dir.Path, ["run", "--config", config, "--for", "20s"]);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("error: task 'broken' failed and raise-on-error is on: Error during strict.broken: exit code 4: disk full", result.Stderr);
        Assert.Matches(@"broken\s+1\s+0\s+1\s", result.Stdout);
    }

    [Fact]
    public async Task Without_raise_on_error_failures_are_logged_and_counted_and_run_exits_0()
    {
        using var dir = new TempDir();
        var config = dir.Write("lenient.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              tasks {
                fine { command = "true" }
                broken { command = "exit 4" }
              }
            }
            """);

        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", events], _ => Event.ReadWritten(events) is var all
                && all.Count(e => e is { Name: "failed", Task: "broken" }) >= 2 && all.Count(e => e is { Name: "succeeded", Task: "fine" }) >= 3,
            "two failures of broken and three successes of fine");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("ERROR Error during lenient.broken: exit code 4", result.Stdout);
        var broken = result.Summary("broken");
        Assert.Equal(0, broken.Succeeded); // every run failed (one cut by the stop is cancelled)
        Assert.True(broken.Failed >= 2, result.ToString());
        Assert.Equal(broken.Runs, broken.Failed + broken.Cancelled);
        Assert.True(result.Summary("fine").Succeeded >= 3, result.ToString()); // and the other task kept running and succeeding
    }

    [Fact]
    public async Task Akka_settings_in_the_file_reach_the_ActorSystem()
    {
        using var dir = new TempDir();
        var config = dir.Write("debug.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              tasks { rare { command = "true", ticks-between-runs = 1 } }
            }
            akka.loglevel = DEBUG
            """);

        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", events],
            _ => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "rare" }), "rare succeeded");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("DEBUG Skipping debug.rare, 1 ticks left until next run", result.Stdout);
        Assert.Contains("DEBUG Running periodic task debug.rare", result.Stdout);
    }

    [Fact]
    public async Task Remoting_configured_in_the_file_starts_with_the_system_named_actor_scheduler()
    {
        using var dir = new TempDir();
        var config = dir.Write("remote.conf", """
            actor-scheduler {
              periodic-interval = 100ms
              tasks { ping { command = "true" } }
            }
            akka {
              actor.provider = remote
              remote.dot-netty.tcp {
                hostname = "127.0.0.1"
                port = 0
              }
            }
            """);

        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--events", events],
            _ => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "ping" }), "ping succeeded");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"Remoting now listens on addresses: \[akka\.tcp://actor-scheduler@127\.0\.0\.1:\d+\]", result.Stdout);
        Assert.Matches(@"ping\s+[1-9]", result.Stdout);
    }

    [Fact]
    public async Task An_akka_setting_the_ActorSystem_rejects_is_exit_2_without_a_stack_trace()
    {
        using var dir = new TempDir();
        var config = dir.Write("provider.conf", """akka.actor.provider = "No.Such.Provider, Nowhere" """);

        var result = await HostProcess.RunAsync(dir.Path, ["run", "--config", config, "--for", "1s"]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"error: {config}: the ActorSystem could not start: 'akka.actor.provider' is not a valid type name", result.Stderr);
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr);
    }

    [Theory]
    [InlineData("cluster")]
    [InlineData("remote")]
    public async Task A_remoting_port_already_in_use_is_exit_2_with_one_line_naming_the_port(string provider)
    {
        using var dir = new TempDir();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var config = dir.Write("node-1.conf", $$"""
            actor-scheduler-host.set-name = jobs
            akka {
              actor.provider = {{provider}}
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
              cluster.seed-nodes = ["akka.tcp://actor-scheduler@127.0.0.1:{{port}}"]
            }
            actor-scheduler.tasks.job { command = "true" }
            """);

        var result = await HostProcess.RunAsync(dir.Path, ["run", "--config", config, "--for", "20s"]);

        Assert.True(result.ExitCode == 2, result.ToString());
        var error = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {config}: the ActorSystem could not start: akka.remote.dot-netty.tcp.port: cannot listen on 127.0.0.1:{port}: ", error);
        Assert.Contains("another process has the port", error);
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr);
    }

    [Fact]
    public async Task The_events_file_cannot_be_created_is_exit_2()
    {
        using var dir = new TempDir();

        var result = await HostProcess.RunAsync(dir.Path, ["run", "--for", "1s", "--events", dir.File("no/such/dir/events.jsonl")]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--events: cannot create", result.Stderr);
    }
}
