using ActorScheduler.Runtime;
using System.Diagnostics;
using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Configuration;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>
/// Recovery from a snapshot (mode "recovery"): N spaced tasks with their places kept in SQLite (actor-scheduler.state, a
/// snapshot after every event). A first ActorSystem starts the set, lets one tick pass, saves and reads t0's next due
/// time; a second one starts the same set on the same file, and the time from its start to the first answer to
/// <see cref="GetTaskStats"/> (which the set gives once it has recovered) is measured. The answer must carry the saved
/// due time (on the second system's first tick at or after it), not a first start's (start + spacing): tick numbers
/// continue across restarts, so only the due time tells the two apart. Only ActorScheduler has this: the other engines
/// keep nothing.
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
            DateTimeOffset saved;
            using (var first = ActorSystem.Create("recovery", config))
            {
                var set = first.StartClusterPeriodicTasks(Set(a.Tasks), stopOnCoordinatedShutdown: false).NodeTasks;
                await set.Ask<Ticked>(new NotifyWhenTicked(1), Wait).ConfigureAwait(false);
                await set.Ask<StateFlushed>(FlushState.Instance, Wait).ConfigureAwait(false);
                var before = await set.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait).ConfigureAwait(false);
                saved = before["t0"].NextDueAt ?? throw new InvalidOperationException("t0 has no next due time before the restart");
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
                    : NotRecovered(stats["t0"].NextDueAt, saved),
            };
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Long enough that no task comes due during the measurement; a whole number of ticks.</summary>
    private static readonly TimeSpan Spacing = TimeSpan.FromHours(1);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Null when <paramref name="recovered"/> continues the saved schedule: the saved due time, on the first tick of the
    /// second system at or after it (so less than an interval later; 1 ms of leeway for the stored time's precision).
    /// A first start would put it at the second start + spacing, at least the time between the two starts later.
    /// </summary>
    private static string? NotRecovered(DateTimeOffset? recovered, DateTimeOffset saved)
    {
        if (recovered is not { } due)
            return "t0 has no next due time after recovery";
        var offset = due - saved;
        return offset >= -TimeSpan.FromMilliseconds(1) && offset < Interval
            ? null
            : FormattableString.Invariant(
                $"the places were not recovered: t0 is due at {due:O}, {offset.TotalMilliseconds:0} ms from the saved {saved:O} (a first start puts it at start + {Spacing.TotalMinutes:0} min)");
    }

    private static PeriodicTaskSet Set(int tasks)
    {
        var set = new PeriodicTaskSet("recovery");
        var options = new PeriodicTaskOptions { Spacing = Spacing };
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
              periodic-interval = {{(long)Interval.TotalMilliseconds}}ms
              state {
                store = sql
                provider = "SQLite.MS"
                connection-string = "Data Source={{database}}"
                snapshot-every = 1
              }
            }
            """).WithFallback(StateSerialization.Config).WithFallback(PeriodicTaskSettings.DefaultConfig());
}
