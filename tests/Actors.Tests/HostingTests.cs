using ActorScheduler.Hosting;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>The Akka.Hosting extension in a real generic host, with two task sets side by side.</summary>
public class HostingTests
{
    public sealed class RunLog
    {
        private readonly Dictionary<string, TaskCompletionSource> _ran = new();

        /// <summary>The ids of the scoped services the runs saw: a new scope per run gives a new id per run.</summary>
        public HashSet<Guid> ScopeIds { get; } = [];

        public TaskCompletionSource For(string task)
        {
            lock (_ran)
                return _ran.TryGetValue(task, out var tcs) ? tcs : _ran[task] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>A manager class resolved from DI, with a dependency.</summary>
    public sealed class ComputeManager(RunLog log)
    {
        [PeriodicTask]
        public void UpdateAvailableResource() => log.For("compute.update").TrySetResult();

        [PeriodicTask(TicksBetweenRuns = 1000)]
        public void SyncPowerStates() => log.For("compute.sync").TrySetResult();
    }

    /// <summary>A task class resolved from DI in a scope per run.</summary>
    public sealed class PurgeTask(RunLog log, ScopedThing scoped) : IPeriodicTask
    {
        public ValueTask RunAsync(PeriodicTaskContext context, CancellationToken cancellationToken)
        {
            log.For("janitor.purge").TrySetResult();
            lock (log.ScopeIds)
            {
                log.ScopeIds.Add(scoped.Id);
                if (log.ScopeIds.Count == 2)
                    log.For("janitor.scoped").TrySetResult();
            }

            return ValueTask.CompletedTask;
        }
    }

    public sealed class ScopedThing
    {
        public Guid Id { get; } = Guid.NewGuid();
    }

    public sealed class Janitor;

    /// <summary>Completes its source with the first event it is sent.</summary>
    private sealed class FirstEvent : ReceiveActor
    {
        public FirstEvent(TaskCompletionSource<PeriodicTaskFailed> first) => Receive<PeriodicTaskFailed>(e => first.TrySetResult(e));
    }

    [Fact]
    public async Task Two_task_sets_run_side_by_side_in_a_host_and_are_registered_in_the_actor_registry()
    {
        var log = new RunLog();
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services =>
            {
                services.AddSingleton(log);
                services.AddSingleton<ComputeManager>();
                services.AddScoped<ScopedThing>();
                services.AddAkka("hosting-test", builder => builder
                    .WithPeriodicTasks<ComputeManager>(o =>
                    {
                        o.SetName = "compute";
                        o.PeriodicInterval = TimeSpan.FromMilliseconds(50);
                        o.Tasks["SyncPowerStates"] = new TaskOptionsOverride { TicksBetweenRuns = 0 }; // HOCON override
                    })
                    .WithPeriodicTasks<Janitor>("janitor", o =>
                    {
                        o.PeriodicInterval = TimeSpan.FromMilliseconds(80);
                        o.AddTask<PurgeTask>("purge");
                        o.AddTask("inline", (_, _) => { log.For("janitor.inline").TrySetResult(); return ValueTask.CompletedTask; });
                    }));
            })
            .Build();
        await host.StartAsync();
        try
        {
            var all = Task.WhenAll(new[] { "compute.update", "compute.sync", "janitor.purge", "janitor.scoped", "janitor.inline" }
                .Select(t => log.For(t).Task));
            await all.WaitAsync(TimeSpan.FromSeconds(10));

            var compute = host.Services.GetRequiredService<IRequiredActor<ComputeManager>>().ActorRef;
            var janitor = host.Services.GetRequiredService<IRequiredActor<Janitor>>().ActorRef;
            Assert.Equal("periodic-tasks-compute", compute.Path.Name);
            Assert.Equal("periodic-tasks-janitor", janitor.Path.Name);
            var computeStats = await compute.Ask<TaskStatsReport>(GetTaskStats.Instance);
            Assert.Equal(["UpdateAvailableResource", "SyncPowerStates"], computeStats.Tasks.Select(t => t.Task));
            Assert.Equal("every tick = 0.05 s", computeStats["SyncPowerStates"].Schedule);
            var janitorStats = await janitor.Ask<TaskStatsReport>(GetTaskStats.Instance);
            Assert.Equal(["purge", "inline"], janitorStats.Tasks.Select(t => t.Task));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Stopping_the_host_cancels_runs_in_flight_through_coordinated_shutdown()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services => services.AddAkka("hosting-stop", builder => builder
                .WithPeriodicTasks<Janitor>("slow", o =>
                {
                    o.PeriodicInterval = TimeSpan.FromMilliseconds(50);
                    o.AddTask("sleepy", async (_, token) =>
                    {
                        started.TrySetResult();
                        try { await Task.Delay(Timeout.Infinite, token); }
                        catch (OperationCanceledException) { cancelled.TrySetResult(); throw; }
                    });
                })))
            .Build();
        await host.StartAsync();
        var system = host.Services.GetRequiredService<ActorSystem>();
        var stopped = new TaskCompletionSource<PeriodicTaskFailed>(TaskCreationOptions.RunContinuationsAsynchronously);
        system.EventStream.Subscribe(system.ActorOf(Props.Create(() => new FirstEvent(stopped))), typeof(PeriodicTaskFailed));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await host.StopAsync();
        Assert.True(cancelled.Task.IsCompleted);
        // The set's own stop cancelled the run (a bare termination of the actors would publish no such event).
        Assert.Contains("is stopping", (await stopped.Task.WaitAsync(TimeSpan.FromSeconds(5))).Error.Message);
    }

    [Fact]
    public async Task A_configuration_mistake_fails_the_host_start_naming_the_path()
    {
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services => services.AddAkka("hosting-bad", builder => builder
                .WithPeriodicTasks<ComputeManager>(o => o.Tasks["SyncPowerState"] = new TaskOptionsOverride { Enabled = false })))
            .ConfigureServices(services => services.AddSingleton(new RunLog()))
            .Build();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        var configError = Assert.IsType<PeriodicTaskConfigurationException>(error.GetBaseException());
        Assert.Equal("actor-scheduler.sets.ComputeManager.tasks.SyncPowerState", configError.Path);
        Assert.Contains("did you mean 'SyncPowerStates'?", configError.Message);
    }

    [Fact]
    public void Task_overrides_in_the_options_carry_calendar_retry_and_pause_keys_into_the_settings()
    {
        var options = new PeriodicTaskSetOptions();
        options.Tasks["nightly"] = new TaskOptionsOverride
        {
            Cron = "30 2 * * *", TimeZone = "Europe/Berlin", Retries = 2, RetryBackoff = TimeSpan.FromSeconds(30),
            RetryMaxBackoff = TimeSpan.FromMinutes(5), PauseAfterFailures = 3,
        };
        var config = Akka.Configuration.ConfigurationFactory.ParseString(options.ToHocon("jobs"));
        var set = new PeriodicTaskSet("jobs").Add("nightly", _ => { }, new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1) });
        var resolved = Configuration.PeriodicTaskSettings.Create(config, "jobs").Resolve(set).Single().Options;
        Assert.Equal(("30 2 * * *", "Europe/Berlin", (TimeSpan?)null), (resolved.Cron, resolved.TimeZone, resolved.Spacing));
        Assert.Equal((2, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), 3),
            (resolved.Retries, resolved.RetryBackoff, resolved.RetryMaxBackoff, resolved.PauseAfterFailures));
    }

    [Fact]
    public void Set_options_carry_tick_source_and_run_events_into_the_settings()
    {
        var options = new PeriodicTaskSetOptions { TickSource = Configuration.TickSource.Scheduler, RunEvents = Configuration.RunEvents.Failures };
        var settings = Configuration.PeriodicTaskSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString(options.ToHocon("jobs")), "jobs");
        Assert.Equal((Configuration.TickSource.Scheduler, Configuration.RunEvents.Failures), (settings.TickSource, settings.RunEvents));
    }
}
