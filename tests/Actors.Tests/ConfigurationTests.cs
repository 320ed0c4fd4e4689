using ActorScheduler.Configuration;
using ActorScheduler.Tasks;
using Akka.Configuration;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>docs/configuration.md: settings read once, HOCON overrides of declared tasks, every mistake named by its path.</summary>
public class ConfigurationTests
{
    private static PeriodicTaskSettings Read(string hocon, string? set = null) =>
        PeriodicTaskSettings.Create(ConfigurationFactory.ParseString(hocon), set);

    private static PeriodicTaskSet Compute() => new PeriodicTaskSet("compute")
        .Add("sync-power-states", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 10 })
        .Add("heal-instance-info-cache", _ => { });

    [Fact]
    public void Defaults_come_from_the_embedded_reference_conf()
    {
        var settings = PeriodicTaskSettings.Create();
        Assert.Equal(TimeSpan.FromSeconds(60), settings.PeriodicInterval);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.InitialDelay); // null: same as the interval
        Assert.Equal(TimeSpan.Zero, settings.FuzzyDelay);
        Assert.False(settings.RaiseOnError);
        Assert.Equal(TimeSpan.FromSeconds(10), settings.ShutdownTimeout);
        Assert.Equal(TickSource.Auto, settings.TickSource);
        Assert.Equal(RunEvents.All, settings.RunEvents);
        Assert.Empty(settings.Tasks);
    }

    [Fact]
    public void Top_level_keys_are_read()
    {
        var settings = Read("""
            actor-scheduler { periodic-interval = 5s, initial-delay = 0s, fuzzy-delay = 2s, raise-on-error = on,
                              shutdown-timeout = 3s, tick-source = scheduler, run-events = off }
            """);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.PeriodicInterval);
        Assert.Equal(TimeSpan.Zero, settings.InitialDelay);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.FuzzyDelay);
        Assert.True(settings.RaiseOnError);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.ShutdownTimeout);
        Assert.Equal(TickSource.Scheduler, settings.TickSource);
        Assert.Equal(RunEvents.Off, settings.RunEvents);
        Assert.Equal(RunEvents.Failures, Read("actor-scheduler.run-events = failures").RunEvents);
    }

    [Fact]
    public void A_task_entry_overrides_the_options_of_the_declared_task_of_that_name()
    {
        var settings = Read("""
            actor-scheduler.tasks {
              sync-power-states { spacing = 10m, run-immediately = on, timeout = 30s, overlap = queue }
              heal-instance-info-cache { enabled = off }
            }
            """);
        var tasks = settings.Resolve(Compute());
        var sync = tasks[0].Options;
        Assert.Null(sync.TicksBetweenRuns); // spacing replaces the declared ticks-between-runs
        Assert.Equal(TimeSpan.FromMinutes(10), sync.Spacing);
        Assert.True(sync.RunImmediately);
        Assert.Equal(TimeSpan.FromSeconds(30), sync.Timeout);
        Assert.Equal(OverlapMode.Queue, sync.Overlap);
        Assert.True(tasks[1].Options.IsDisabled);
    }

    [Fact]
    public void Timeout_infinite_removes_a_declared_timeout()
    {
        var set = new PeriodicTaskSet("s").Add("t", _ => { }, new PeriodicTaskOptions { Timeout = TimeSpan.FromSeconds(1) });
        Assert.Null(Read("actor-scheduler.tasks.t.timeout = infinite").Resolve(set)[0].Options.Timeout);
    }

    [Fact]
    public void An_entry_for_a_task_that_does_not_exist_is_an_error_naming_it_and_the_closest_task()
    {
        var error = Assert.Throws<PeriodicTaskConfigurationException>(() =>
            Read("actor-scheduler.tasks.sync-power-state.enabled = off").Resolve(Compute()));
        Assert.Equal("actor-scheduler.tasks.sync-power-state", error.Path);
        Assert.Contains("no task named 'sync-power-state'", error.Message);
        Assert.Contains("did you mean 'sync-power-states'?", error.Message);
    }

    [Theory]
    [InlineData("actor-scheduler.periodic-interval = 0s", "actor-scheduler.periodic-interval", "must be > 0")]
    [InlineData("actor-scheduler.periodic-interval = fast", "actor-scheduler.periodic-interval", "is not a duration")]
    [InlineData("actor-scheduler.initial-delay = -1s", "actor-scheduler.initial-delay", ">= 0")]
    [InlineData("actor-scheduler.fuzzy-delay = soon", "actor-scheduler.fuzzy-delay", "is not a duration")]
    [InlineData("actor-scheduler.raise-on-error = maybe", "actor-scheduler.raise-on-error", "use on or off")]
    [InlineData("actor-scheduler.shutdown-timeout = x", "actor-scheduler.shutdown-timeout", "is not a duration")]
    [InlineData("actor-scheduler.tick-source = fast", "actor-scheduler.tick-source", "auto, precise, scheduler")]
    [InlineData("actor-scheduler.run-events = some", "actor-scheduler.run-events", "all, failures, off")]
    [InlineData("actor-scheduler.periodic-intervall = 1s", "actor-scheduler.periodic-intervall", "did you mean 'periodic-interval'?")]
    [InlineData("actor-scheduler.tasks.backup = 5", "actor-scheduler.tasks.backup", "must be an object")]
    [InlineData("actor-scheduler.tasks.backup.ticks-between-runs = -1", "actor-scheduler.tasks.backup.ticks-between-runs", ">= 0")]
    [InlineData("actor-scheduler.tasks.backup.ticks-between-runs = ten", "actor-scheduler.tasks.backup.ticks-between-runs", "not a whole number")]
    [InlineData("actor-scheduler.tasks.backup { ticks-between-runs = 2, spacing = 1m }", "actor-scheduler.tasks.backup.spacing", "not both")]
    [InlineData("actor-scheduler.tasks.backup.spacing = 0s", "actor-scheduler.tasks.backup.spacing", "0 is not allowed")]
    [InlineData("actor-scheduler.tasks.backup.timeout = 0s", "actor-scheduler.tasks.backup.timeout", "must be > 0, or infinite")]
    [InlineData("actor-scheduler.tasks.backup.overlap = parallel", "actor-scheduler.tasks.backup.overlap", "skip, queue")]
    [InlineData("actor-scheduler.tasks.backup.run-immediately = sometimes", "actor-scheduler.tasks.backup.run-immediately", "use on or off")]
    [InlineData("actor-scheduler.tasks.backup.enabeld = off", "actor-scheduler.tasks.backup.enabeld", "did you mean 'enabled'?")]
    [InlineData("actor-scheduler.sets.compute.periodic-interval = -5s", "actor-scheduler.sets.compute.periodic-interval", "must be > 0")]
    public void Every_bad_value_is_an_error_naming_its_full_path_and_what_is_allowed(string hocon, string path, string allowed)
    {
        var error = Assert.Throws<PeriodicTaskConfigurationException>(() => Read(hocon, "compute"));
        Assert.Equal(path, error.Path);
        Assert.StartsWith(path + ": ", error.Message);
        Assert.Contains(allowed, error.Message);
    }

    [Fact]
    public void The_core_manager_refuses_cluster_scope_and_names_the_package_that_runs_it()
    {
        var set = new PeriodicTaskSet("compute").Add("sync-power-states", _ => { }, new PeriodicTaskOptions { Scope = TaskScope.Cluster });
        var error = Assert.Throws<PeriodicTaskConfigurationException>(
            () => PeriodicTasks.Props(set, PeriodicTaskSettings.Create()));
        Assert.Equal("actor-scheduler.tasks.sync-power-states.scope", error.Path);
        Assert.Contains("ActorScheduler.Cluster", error.Message);
    }

    [Theory]
    [InlineData("actor-scheduler.tasks.backup.scope = cluster", "actor-scheduler.tasks.backup.scope")]
    [InlineData("actor-scheduler.tasks.backup.role = worker", "actor-scheduler.tasks.backup.role")]
    [InlineData("actor-scheduler.sets.compute.tasks.backup.scope = node", "actor-scheduler.sets.compute.tasks.backup.scope")]
    [InlineData("actor-scheduler.state.store = sql", "actor-scheduler.state")]
    [InlineData("actor-scheduler.cluster.distribution = singleton", "actor-scheduler.cluster")]
    public void A_key_of_the_cluster_package_is_unknown_to_the_core_and_names_that_package(string hocon, string path)
    {
        var error = Assert.Throws<PeriodicTaskConfigurationException>(() => Read(hocon, "compute"));
        Assert.Equal(path, error.Path);
        Assert.StartsWith(path + ": unknown key", error.Message);
        Assert.Contains("ActorScheduler.Cluster package", error.Message);
    }

    [Theory]
    [InlineData("actor-scheduler.tasks.backup.command = \"true\"", "actor-scheduler.tasks.backup.command")]
    [InlineData("actor-scheduler.tasks.backup.environment { A = 1 }", "actor-scheduler.tasks.backup.environment")]
    [InlineData("actor-scheduler.assemblies = []", "actor-scheduler.assemblies")]
    public void A_key_of_the_console_host_is_unknown_to_the_core_and_names_the_host(string hocon, string path)
    {
        var error = Assert.Throws<PeriodicTaskConfigurationException>(() => Read(hocon));
        Assert.Equal(path, error.Path);
        Assert.StartsWith(path + ": unknown key", error.Message);
        Assert.Contains("console host", error.Message);
    }

    [Fact]
    public void The_core_reference_conf_has_only_the_core_keys()
    {
        var section = PeriodicTaskSettings.DefaultConfig().GetConfig("actor-scheduler").Root.GetObject().Items.Keys;
        Assert.Equal(PeriodicTaskSettings.KnownKeys.Order(), section.Order());
    }

    [Fact]
    public void A_named_set_reads_its_own_section_over_the_top_level_keys()
    {
        const string hocon = """
            actor-scheduler {
              periodic-interval = 7s
              raise-on-error = on
              tasks.other-sets-task.enabled = off
              sets.compute { periodic-interval = 2s, tasks.sync-power-states.ticks-between-runs = 3 }
            }
            """;
        var settings = Read(hocon, "compute");
        Assert.Equal("actor-scheduler.sets.compute", settings.Path);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.PeriodicInterval);
        Assert.True(settings.RaiseOnError); // falls back to the top level
        Assert.Equal(3, settings.Resolve(Compute())[0].Options.TicksBetweenRuns); // its own tasks only
        var error = Assert.Throws<PeriodicTaskConfigurationException>(() => Read(hocon).Resolve(Compute()));
        Assert.Equal("actor-scheduler.tasks.other-sets-task", error.Path); // the top-level set reads the top-level tasks
    }

    [Fact]
    public void Task_names_with_dots_are_read_as_one_key()
    {
        var set = new PeriodicTaskSet("s").Add("nova.sync", _ => { });
        Assert.Equal(4, Read("actor-scheduler.tasks.\"nova.sync\".ticks-between-runs = 4").Resolve(set)[0].Options.TicksBetweenRuns);
    }

    [Theory]
    [InlineData("nova.sync")]
    [InlineData("say \"hi\"")]
    [InlineData(@"C:\jobs\backup")]
    [InlineData("tab\there")]
    public void Quoted_names_read_back_as_one_key(string name)
    {
        var hocon = $"actor-scheduler.tasks.{Hocon.Quote(name)}.ticks-between-runs = 4";
        var set = new PeriodicTaskSet("s").Add(name, _ => { });
        Assert.Equal(4, Read(hocon).Resolve(set)[0].Options.TicksBetweenRuns);
    }
}

public class DurationTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("90s", 90_000)]
    [InlineData("10m", 600_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("-1s", -1000)]
    [InlineData("2 minutes", 120_000)]
    public void Hocon_durations_parse(string text, long milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("10 parsecs")]
    [InlineData("1s\"")]
    public void Other_text_does_not_parse(string text) => Assert.False(Durations.TryParse(text, out _));

    [Fact]
    public void Negative_spacing_in_configuration_disables_the_task()
    {
        var set = new PeriodicTaskSet("s").Add("t", _ => { });
        var settings = PeriodicTaskSettings.Create(ConfigurationFactory.ParseString("actor-scheduler.tasks.t.spacing = -1s"));
        Assert.True(settings.Resolve(set)[0].Options.IsDisabled);
    }
}
