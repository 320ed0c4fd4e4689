using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>Calendar tasks in the host: <c>simulate --start</c> across a daylight-saving change, <c>list</c>'s occurrences, bad input.</summary>
public class CalendarTests
{
    private const string NewYork = """
        actor-scheduler {
          periodic-interval = 60s
          tasks {
            nightly { command = "touch ran", cron = "30 2 * * *", time-zone = "America/New_York" }
            hourly { command = "true", spacing = 1h }
          }
        }
        """;

    [Fact]
    public async Task Simulate_from_start_plans_a_daily_task_across_the_spring_forward_gap()
    {
        using var dir = new TempDir();
        var config = dir.Write("ny.conf", NewYork);
        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunAsync(dir.Path,
            ["simulate", "--config", config, "--start", "2026-03-07T00:00-05:00", "--for", "3d", "--events", events]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("(3d of virtual time from 2026-03-07T05:00:00.000Z)", result.Stdout);
        var nightly = Event.ReadFile(events).Where(e => e.Task == "nightly").ToList();
        // 02:30 EST, then 03:00 EDT (02:30 does not exist on the 8th: moved out of the gap), then 02:30 EDT.
        Assert.Equal(
            [DateTimeOffset.Parse("2026-03-07T07:30Z"), DateTimeOffset.Parse("2026-03-08T07:00Z"), DateTimeOffset.Parse("2026-03-09T06:30Z")],
            nightly.Select(e => e.Time));
        Assert.All(nightly, e => Assert.Equal(TimeSpan.FromMinutes(e.Tick), e.Time - DateTimeOffset.Parse("2026-03-07T05:00Z")));
        Assert.False(File.Exists(dir.File("ran")), "simulate must not run task bodies");
    }

    [Fact]
    public async Task Simulate_puts_a_calendar_run_at_its_occurrence_between_ticks_numbered_with_the_tick_before()
    {
        using var dir = new TempDir();
        var config = dir.Write("ny.conf", NewYork);
        var events = dir.File("events.jsonl");

        // Ticks every minute from 00:00:20 EST: 02:30 EST is 149m40s after the start, 40 s after tick 149.
        var result = await HostProcess.RunAsync(dir.Path,
            ["simulate", "--config", config, "--start", "2026-03-07T00:00:20-05:00", "--for", "1d", "--events", events]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var nightly = Assert.Single(Event.ReadFile(events), e => e.Task == "nightly");
        Assert.Equal((149L, DateTimeOffset.Parse("2026-03-07T07:30Z")), (nightly.Tick, nightly.Time));
    }

    [Fact]
    public async Task List_shows_a_calendar_schedule_in_words_and_its_next_occurrences_with_the_daylight_saving_mark()
    {
        using var dir = new TempDir();
        var config = dir.Write("ny.conf", NewYork);

        var result = await HostProcess.RunAsync(dir.Path, ["list", "--config", config, "--start", "2026-03-07T00:00-05:00"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"nightly\s+at 02:30 every day \(America/New_York\)\s+tick 150 \(\+150m\), tick 1560 \(\+26h\)", result.Stdout);
        Assert.Contains("Next occurrences from 2026-03-07 05:00Z", result.Stdout);
        Assert.Contains("nightly  2026-03-07 02:30 -05:00 = 2026-03-07 07:30Z\n", result.Stdout);
        Assert.Contains("2026-03-08 03:00 -04:00 = 2026-03-08 07:00Z  moved out of the DST gap\n", result.Stdout);
        Assert.Contains("2026-03-09 02:30 -04:00 = 2026-03-09 06:30Z\n", result.Stdout);
        Assert.DoesNotContain("hourly  20", result.Stdout); // only calendar tasks have occurrences
    }

    [Fact]
    public async Task List_shows_retries_and_pause_after_failures_among_the_options()
    {
        using var dir = new TempDir();
        var config = dir.Write("retry.conf",
            "actor-scheduler.tasks.sync { command = \"true\", spacing = 2s, retries = 2, retry-backoff = 500ms, pause-after-failures = 3 }\n");

        var result = await HostProcess.RunAsync(dir.Path, ["list", "--config", config]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("retries 2 (backoff 500ms doubling to 10m); pause after 3 failures; command: true", result.Stdout);
    }

    [Fact]
    public async Task The_demo_has_a_calendar_task_that_fires_within_seconds()
    {
        using var dir = new TempDir();
        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--events", events],
            _ => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "nightly-report" }), "a run of nightly-report");

        Assert.True(result.ExitCode == 0, result.ToString());
        var run = Event.ReadFile(events).First(e => e is { Name: "started", Task: "nightly-report" });
        Assert.Equal(1, run.Raw.GetProperty("attempt").GetInt32());
    }

    [Theory]
    [InlineData("2026-03-07T00:00", "has no offset (Z or +hh:mm)")]
    [InlineData("tomorrow", "is not an ISO-8601 time")]
    [InlineData("2026-02-30T00:00Z", "is not a valid time")]
    public async Task A_start_without_an_offset_or_not_a_time_is_exit_2_naming_the_option_and_the_allowed_forms(string start, string expected)
    {
        using var dir = new TempDir();
        var config = dir.Write("ny.conf", NewYork);

        foreach (var command in new[] { "simulate", "list" })
        {
            string[] args = command == "simulate"
                ? ["simulate", "--config", config, "--ticks", "1", "--start", start]
                : ["list", "--config", config, "--start", start];
            var result = await HostProcess.RunAsync(dir.Path, args);

            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains($"error: --start: \"{start}\" {expected}", result.Stderr);
            Assert.Contains("such as 2026-03-08T00:00:00-05:00 or 2026-10-25T00:00Z", result.Stderr);
            Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    public static TheoryData<string, string, string> BadCalendarKeys => new()
    {
        { "malformed cron", "cron = \"every day\"", "actor-scheduler.tasks.job.cron: \"every day\" has 2 fields; use 5 fields" },
        { "out-of-range field", "cron = \"61 2 * * *\"", "actor-scheduler.tasks.job.cron: \"61 2 * * *\" is not a valid cron expression" },
        { "7 fields", "cron = \"0 0 2 * * * *\"", "actor-scheduler.tasks.job.cron: \"0 0 2 * * * *\" has 7 fields" },
        { "unknown time zone", "cron = \"30 2 * * *\", time-zone = \"Europe/Berln\"",
            "actor-scheduler.tasks.job.time-zone: \"Europe/Berln\" is not a known time zone; did you mean 'Europe/Berlin'" },
        { "two schedule keys", "cron = \"30 2 * * *\", spacing = 1h", "actor-scheduler.tasks.job.cron: set one of ticks-between-runs, spacing, cron" },
        { "negative retries", "retries = -1", "actor-scheduler.tasks.job.retries: -1 is not allowed; use an integer >= 0" },
        { "retry-backoff not a duration", "retries = 2, retry-backoff = soon", "actor-scheduler.tasks.job.retry-backoff: \"soon\" is not a duration" },
        { "negative retry-backoff", "retries = 2, retry-backoff = -1s", "actor-scheduler.tasks.job.retry-backoff: -1s is not allowed" },
    };

    [Theory]
    [MemberData(nameof(BadCalendarKeys))]
    public async Task A_bad_calendar_or_retry_key_is_exit_2_with_one_line_naming_the_key(string description, string keys, string expected)
    {
        _ = description;
        using var dir = new TempDir();
        var config = dir.Write("bad.conf", $"actor-scheduler.tasks.job {{ command = \"true\", {keys} }}\n");

        var result = await HostProcess.RunAsync(dir.Path, ["validate", "--config", config]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("error: " + expected, result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", result.Stderr + result.Stdout);
    }
}
