using System.Diagnostics;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary><c>simulate</c>: the schedule in virtual time, one run event per planned run, no task body executed.</summary>
public class SimulateTests
{
    private const string Config = """
        actor-scheduler {
          periodic-interval = 60s
          tasks {
            every-tick { command = "touch ran-every-tick" }
            sync-power-states { command = "touch ran-sync", ticks-between-runs = 10 }
            cleanup { command = "true", spacing = 5m, run-immediately = on }
            never { command = "true", enabled = off }
          }
        }
        """;

    [Fact]
    public async Task Writes_one_run_event_per_planned_run_with_its_tick_and_virtual_time_and_runs_no_body()
    {
        using var dir = new TempDir();
        var config = dir.Write("day.conf", Config);
        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunAsync(dir.Path, ["simulate", "--config", config, "--ticks", "33", "--events", events]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var all = Event.ReadFile(events);
        Assert.All(all, e => Assert.Equal("run", e.Name));
        Assert.Equal(Enumerable.Range(1, 33).Select(i => (long)i), all.Where(e => e.Task == "every-tick").Select(e => e.Tick));
        Assert.Equal([11L, 22L, 33L], all.Where(e => e.Task == "sync-power-states").Select(e => e.Tick));
        Assert.Equal([0L, 5L, 10L, 15L, 20L, 25L, 30L], all.Where(e => e.Task == "cleanup").Select(e => e.Tick));
        Assert.DoesNotContain(all, e => e.Task == "never");

        var start = all.First(e => e.Tick == 0).Time;
        Assert.All(all, e => Assert.Equal(TimeSpan.FromSeconds(60 * e.Tick), e.Time - start));
        Assert.All(all, e => Assert.False(e.Raw.TryGetProperty("durationMs", out _)));
        Assert.False(File.Exists(dir.File("ran-every-tick")), "simulate must not run task bodies");
        Assert.False(File.Exists(dir.File("ran-sync")), "simulate must not run task bodies");
    }

    [Fact]
    public async Task Ends_with_the_per_task_summary()
    {
        using var dir = new TempDir();
        var config = dir.Write("day.conf", Config);

        var result = await HostProcess.RunAsync(dir.Path, ["simulate", "--config", config, "--for", "1d"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Simulated day: ticks 0 to 1440 (1d of virtual time", result.Stdout);
        Assert.Matches(@"TASK\s+RUNS\s+SUCCEEDED\s+FAILED\s+TIMED OUT\s+CANCELLED\s+OVERRUNS\s+MISSED\s+MEAN\s+MAX", result.Stdout);
        Assert.Matches(@"every-tick\s+1440\s", result.Stdout);
        Assert.Matches(@"sync-power-states\s+130\s", result.Stdout); // 1440 / 11
        Assert.Matches(@"cleanup\s+289\s", result.Stdout);            // tick 0, then every 5 ticks
        Assert.Matches(@"never\s+0\s", result.Stdout);
    }

    [Fact]
    public async Task Events_to_standard_output_leave_it_pure_JSON_Lines_and_move_the_summary_to_standard_error()
    {
        using var dir = new TempDir();
        var config = dir.Write("day.conf", Config);

        var result = await HostProcess.RunAsync(dir.Path, ["simulate", "--config", config, "--ticks", "11", "--events", "-"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var events = Event.Parse(result.Stdout);
        Assert.Equal(11 + 1 + 3, events.Count); // every-tick 1..11, sync-power-states 11, cleanup 0, 5, 10
        Assert.Contains("Simulated day", result.Stderr);
    }

    [Fact]
    public async Task Simulates_100000_ticks_of_the_demo_tasks_with_their_run_counts()
    {
        using var dir = new TempDir();
        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunAsync(dir.Path, ["simulate", "--ticks", "100000", "--events", events], timeout: TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"update_available_resource\s+100000\s", result.Stdout);
        Assert.Matches(@"_sync_power_states\s+9090\s", result.Stdout);
        Assert.Matches(@"_run_image_cache_manager_pass\s+2439\s", result.Stdout);
        Assert.True(new FileInfo(events).Length > 0);
    }

    [Fact]
    public async Task Simulates_a_year_of_minute_ticks_of_100_tasks_a_third_of_them_calendar_tasks()
    {
        using var dir = new TempDir();
        string[] crons = ["30 2 * * *", "*/15 * * * *", "0 */2 * * *", "0 9 * * Mon-Fri", "45 23 L * *", "*/5 * * * *"];
        string[] zones = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo"];
        var tasks = Enumerable.Range(0, 100).Select(i => (i % 3) switch
        {
            0 => $"t{i} {{ command = \"true\", cron = \"{crons[i / 3 % crons.Length]}\", time-zone = \"{zones[i % zones.Length]}\" }}",
            1 => $"t{i} {{ command = \"true\", spacing = {i % 60 + 1}m }}",
            _ => $"t{i} {{ command = \"true\", ticks-between-runs = {i % 30} }}",
        });
        var config = dir.Write("year.conf", $"actor-scheduler {{\n  periodic-interval = 60s\n  tasks {{\n    {string.Join("\n    ", tasks)}\n  }}\n}}\n");
        var result = await HostProcess.RunAsync(dir.Path, ["simulate", "--config", config, "--for", "365d", "--start", "2026-01-01T00:00Z"],
            timeout: TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("ticks 0 to 525600", result.Stdout);
        Assert.Matches(@"(?m)^t0\s+365\s", result.Stdout);   // 02:30 UTC on each day of 2026
        Assert.Matches(@"(?m)^t1\s+262800\s", result.Stdout); // spacing 2m
        Assert.Matches(@"(?m)^t2\s+175200\s", result.Stdout); // every 3 ticks
    }
}
