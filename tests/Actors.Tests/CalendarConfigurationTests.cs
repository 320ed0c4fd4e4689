using ActorScheduler.Configuration;
using ActorScheduler.Tasks;
using Akka.Configuration;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>docs/configuration.md: the calendar and retry keys, in HOCON, attributes and code, and their errors.</summary>
public class CalendarConfigurationTests
{
    private static PeriodicTaskOptions Resolve(string entry, PeriodicTaskOptions? declared = null)
    {
        var settings = PeriodicTaskSettings.Create(ConfigurationFactory.ParseString($"actor-scheduler.tasks.backup {{ {entry} }}"));
        return settings.Resolve(new PeriodicTaskSet("ops").Add("backup", _ => { }, declared)).Single().Options;
    }

    private static PeriodicTaskConfigurationException Error(string entry, PeriodicTaskOptions? declared = null) =>
        Assert.Throws<PeriodicTaskConfigurationException>(() => Resolve(entry, declared));

    [Fact]
    public void Cron_time_zone_and_retry_keys_are_read()
    {
        var options = Resolve("""
            cron = "30 2 * * *", time-zone = "Europe/Berlin", retries = 3, retry-backoff = 5s, retry-max-backoff = 1m,
            pause-after-failures = 4
            """);
        Assert.Equal("30 2 * * *", options.Cron);
        Assert.Equal("Europe/Berlin", options.TimeZone);
        Assert.Equal(3, options.Retries);
        Assert.Equal(TimeSpan.FromSeconds(5), options.RetryBackoff);
        Assert.Equal(TimeSpan.FromMinutes(1), options.RetryMaxBackoff);
        Assert.Equal(4, options.PauseAfterFailures);
    }

    [Fact]
    public void Retry_keys_default_to_none_10s_10m_and_off()
    {
        var options = Resolve("");
        Assert.Equal((0, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(10), 0),
            (options.Retries, options.RetryBackoff, options.RetryMaxBackoff, options.PauseAfterFailures));
        Assert.Equal("UTC", options.TimeZone);
    }

    [Fact]
    public void Cron_in_an_entry_replaces_a_declared_spacing()
    {
        var options = Resolve("cron = \"@daily\"", new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1) });
        Assert.Equal(("@daily", (TimeSpan?)null, (int?)null), (options.Cron, options.Spacing, options.TicksBetweenRuns));
    }

    [Fact]
    public void Ticks_between_runs_in_an_entry_replaces_a_declared_cron_and_its_zone()
    {
        var options = Resolve("ticks-between-runs = 9", new PeriodicTaskOptions { Cron = "0 3 * * *", TimeZone = "Europe/Berlin" });
        Assert.Equal((9, (string?)null, "UTC"), (options.TicksBetweenRuns, options.Cron, options.TimeZone));
    }

    [Fact]
    public void Time_zone_alone_changes_the_zone_of_a_declared_cron()
    {
        var options = Resolve("time-zone = \"America/New_York\"", new PeriodicTaskOptions { Cron = "0 3 * * *" });
        Assert.Equal("America/New_York", options.TimeZone);
    }

    [Theory]
    [InlineData("cron = \"61 * * * *\"", "cron", "\"61 * * * *\" is not a valid cron expression (")]
    [InlineData("cron = \"0 0 0 * * * *\"", "cron", "has 7 fields; use 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first")]
    [InlineData("cron = \"daily\"", "cron", "has 1 field; use 5 fields")]
    [InlineData("cron = \"0 25 * * *\"", "cron", "is not a valid cron expression")]
    [InlineData("cron = \"@daily\", spacing = 1h", "cron", "set one of ticks-between-runs, spacing, cron")]
    [InlineData("cron = \"@daily\", ticks-between-runs = 2", "cron", "set one of ticks-between-runs, spacing, cron")]
    [InlineData("cron = \"@daily\", time-zone = \"Mars/Olympus\"", "time-zone", "\"Mars/Olympus\" is not a known time zone")]
    [InlineData("time-zone = \"Europe/Berlin\"", "time-zone", "applies only to a task with cron")]
    [InlineData("retries = -1", "retries", "-1 is not allowed; use an integer >= 0.")]
    [InlineData("retry-backoff = 0s", "retry-backoff", "0s is not allowed; use a duration > 0")]
    [InlineData("retry-backoff = soon", "retry-backoff", "\"soon\" is not a duration")]
    [InlineData("retry-backoff = 1m, retry-max-backoff = 30s", "retry-max-backoff", "use a duration >= retry-backoff")]
    [InlineData("retry-backoff = 20m", "retry-backoff", "retry-max-backoff (10m) is less than retry-backoff (20m)")]
    [InlineData("pause-after-failures = -2", "pause-after-failures", "-2 is not allowed; use an integer >= 0.")]
    public void A_bad_value_is_an_error_naming_the_full_key_and_what_is_allowed(string entry, string key, string expected)
    {
        var error = Error(entry);
        Assert.Equal($"actor-scheduler.tasks.backup.{key}", error.Path);
        Assert.StartsWith($"actor-scheduler.tasks.backup.{key}: ", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_misspelt_zone_suggests_the_close_ids()
    {
        var error = Error("cron = \"@daily\", time-zone = \"Europe/Berln\"");
        Assert.Contains("did you mean 'Europe/Berlin'", error.Message);
    }

    private sealed class Calendars
    {
        [PeriodicTask(Cron = "30 2 * * *", TimeZone = "Europe/Berlin", Retries = 2, RetryBackoff = "30s", RetryMaxBackoff = "5m", PauseAfterFailures = 3)]
        public void Backup() { }
    }

    private sealed class SevenFields
    {
        [PeriodicTask(Cron = "0 0 0 * * * *")]
        public void Backup() { }
    }

    private sealed class ZoneWithoutCron
    {
        [PeriodicTask(Spacing = "1h", TimeZone = "Europe/Berlin")]
        public void Backup() { }
    }

    private sealed class CronAndSpacing
    {
        [PeriodicTask(Cron = "@hourly", Spacing = "1h")]
        public void Backup() { }
    }

    private sealed class BadBackoff
    {
        [PeriodicTask(Cron = "@hourly", RetryBackoff = "soon")]
        public void Backup() { }
    }

    private sealed class MisspeltZone
    {
        [PeriodicTask(Cron = "@hourly", TimeZone = "Europe/Berln")]
        public void Backup() { }
    }

    [Fact]
    public void The_attribute_declares_a_calendar_task_with_retries()
    {
        var options = TaskDiscovery.Discover(new Calendars()).Single().Options;
        Assert.Equal(("30 2 * * *", "Europe/Berlin", 2, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), 3),
            (options.Cron, options.TimeZone, options.Retries, options.RetryBackoff, options.RetryMaxBackoff, options.PauseAfterFailures));
    }

    [Theory]
    [InlineData(typeof(SevenFields), "cron \"0 0 0 * * * *\" has 7 fields; use 5 fields")]
    [InlineData(typeof(ZoneWithoutCron), "TimeZone applies only to a task with Cron")]
    [InlineData(typeof(CronAndSpacing), "set one of ticks-between-runs, spacing, cron")]
    [InlineData(typeof(BadBackoff), "RetryBackoff = \"soon\" is not a duration")]
    [InlineData(typeof(MisspeltZone), "did you mean 'Europe/Berlin'")]
    public void A_bad_attribute_is_an_error_naming_the_method(Type type, string expected)
    {
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() => TaskDiscovery.Discover(Activator.CreateInstance(type)!));
        Assert.Contains($"method {type.Name}.Backup", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData(-1, 10, 600, 0, "retries must be >= 0, got -1.")]
    [InlineData(0, 0, 600, 0, "retry-backoff must be > 0, got 0s.")]
    [InlineData(0, 60, 30, 0, "retry-max-backoff must be >= retry-backoff (1m), got 30s.")]
    [InlineData(0, 10, 600, -1, "pause-after-failures must be >= 0 (0 = never), got -1.")]
    public void Bad_retry_options_in_code_are_an_error_naming_the_task(int retries, int backoff, int maxBackoff, int pause, string expected)
    {
        var options = new PeriodicTaskOptions
        {
            Retries = retries, RetryBackoff = TimeSpan.FromSeconds(backoff), RetryMaxBackoff = TimeSpan.FromSeconds(maxBackoff),
            PauseAfterFailures = pause,
        };
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() => new PeriodicTaskSet("ops").Add("backup", _ => { }, options));
        Assert.Equal($"task 'backup' added in code: {expected}", error.Message);
    }

    [Fact]
    public void An_unknown_zone_in_code_is_an_error_naming_the_task()
    {
        var options = new PeriodicTaskOptions { Cron = "@daily", TimeZone = "Nowhere/Place" };
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() => new PeriodicTaskSet("ops").Add("backup", _ => { }, options));
        Assert.StartsWith("task 'backup' added in code: time-zone \"Nowhere/Place\" is not a known time zone", error.Message);
    }
}
