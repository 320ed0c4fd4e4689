using System.Diagnostics;
using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>
/// Recovery from a snapshot (mode "recovery"): N tasks with their places kept in SQLite (actor-scheduler.state, a
/// snapshot after every event). A first ActorSystem starts the set, lets one tick pass and saves; a second one starts
/// the same set on the same file, and the time from its start to the first answer to <see cref="GetTaskStats"/> (which
/// the set gives once it has recovered) is measured. Only ActorScheduler has this: the other engines keep nothing.
/// </summary>
public static class Recovery
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    public static async Task<WorkerResult> MeasureAsync(WorkerArgs a)
    {
        var directory = Directory.CreateTempSubdirectory("actor-scheduler-recovery-");
        try
        {
            var config = Config(Path.Combine(directory.FullName, "state.db"));
            using (var first = ActorSystem.Create("recovery", config))
            {
                var set = first.StartClusterPeriodicTasks(Set(a.Tasks), stopOnCoordinatedShutdown: false).NodeTasks;
                await set.Ask<Ticked>(new NotifyWhenTicked(1), Wait).ConfigureAwait(false);
                await set.Ask<StateFlushed>(FlushState.Instance, Wait).ConfigureAwait(false);
                await Task.Delay(500).ConfigureAwait(false); // the snapshot is saved after the event that triggers it
                await first.Terminate().WaitAsync(Wait).ConfigureAwait(false);
            }

            using var second = ActorSystem.Create("recovery", config);
            var tasks = Set(a.Tasks);
            var clock = Stopwatch.StartNew();
            var restarted = second.StartClusterPeriodicTasks(tasks, stopOnCoordinatedShutdown: false).NodeTasks;
            var stats = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait).ConfigureAwait(false);
            clock.Stop();
            await second.Terminate().WaitAsync(Wait).ConfigureAwait(false);
            return new WorkerResult
            {
                Engine = a.Engine, Mode = a.Mode, Label = a.Label, Tasks = a.Tasks,
                StartMs = clock.Elapsed.TotalMilliseconds,
                Error = stats.Tasks.Count != a.Tasks ? $"{stats.Tasks.Count} of {a.Tasks} tasks after recovery"
                    : stats["t0"].NextDueTick >= FreshDueTick ? "the places were not recovered (t0 is due as on a first start)"
                    : null,
            };
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    private const int TicksBetweenRuns = 1_000_000;

    /// <summary>A first start's next due tick; a recovered place is nearer by the ticks the first system went through.</summary>
    private const long FreshDueTick = TicksBetweenRuns + 1;

    private static PeriodicTaskSet Set(int tasks)
    {
        var set = new PeriodicTaskSet("recovery");
        var options = new PeriodicTaskOptions { TicksBetweenRuns = TicksBetweenRuns };
        for (var i = 0; i < tasks; i++)
            set.Add("t" + i, _ => { }, options);
        return set;
    }

    private static Config Config(string database) =>
        ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              stdout-loglevel = WARNING
              coordinated-shutdown.run-by-clr-shutdown-hook = off
            }
            actor-scheduler {
              periodic-interval = 200ms
              state {
                store = sql
                provider = "SQLite.MS"
                connection-string = "Data Source={{database}}"
                snapshot-every = 1
              }
            }
            """).WithFallback(StateSerialization.Config).WithFallback(PeriodicTaskSettings.DefaultConfig());
}
