using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;

namespace ActorScheduler.Benchmarks.Engines;

/// <summary>
/// The real library: a <see cref="PeriodicTaskSet"/> of N spaced tasks (spacing = T) under a
/// <see cref="PeriodicTaskManager"/> whose periodic interval is T, with the precise tick source.
/// </summary>
public sealed class ActorSchedulerEngine : IEngine
{
    private ActorSystem? _system;
    private PeriodicTaskSet? _set;

    public string Name => EngineNames.ActorScheduler;

    public async Task PrepareAsync(EngineSpec spec, TaskBody body)
    {
        var interval = (long)spec.Period.TotalMilliseconds;
        var config = ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              stdout-loglevel = WARNING
              log-dead-letters = off
              coordinated-shutdown.run-by-clr-shutdown-hook = off
            }
            actor-scheduler {
              periodic-interval = {{interval}}ms
              tick-source = precise
            }
            """);
        var options = new PeriodicTaskOptions { Spacing = spec.Period, RunImmediately = spec.FirstRunAtStart };
        var set = new PeriodicTaskSet("bench");
        for (var i = 0; i < spec.Tasks; i++)
        {
            var index = i;
            set.Add("t" + i, (_, ct) => body(index, ct), options);
        }

        _set = set;
        _system = ActorSystem.Create("bench", config);

        // Warm-up, as for every engine: a throw-away set of one task, so that the first real start does not pay for
        // JIT compilation and Akka's per-type caches.
        var warmup = new PeriodicTaskSet("warmup").Add("w", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { RunImmediately = true });
        var manager = _system.ActorOf(PeriodicTasks.Props(warmup, PeriodicTaskSettings.Create(config, "warmup")), "warmup");
        await manager.Ask<Ticked>(new NotifyWhenTicked(0), TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await manager.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await manager.GracefulStop(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    public Task StartAsync(long epoch, DateTimeOffset epochUtc)
    {
        // What an application calls: it reads the settings, resolves the tasks and starts the manager. Ticks count from
        // this call.
        _system!.StartPeriodicTasks(_set!);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_system is not null)
            await _system.Terminate().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }
}
