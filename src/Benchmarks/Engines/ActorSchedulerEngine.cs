using System.Diagnostics;
using ActorScheduler.Cluster;
using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Configuration;

namespace ActorScheduler.Benchmarks.Engines;

/// <summary>
/// The real library: a <see cref="PeriodicTaskSet"/> of N spaced tasks (spacing = T) under a
/// <see cref="PeriodicTaskManager"/> whose periodic interval is T, with the precise tick source. With a
/// <see cref="StateStoreVariant"/>, the set is started as the cluster package starts it with
/// actor-scheduler.state.store = sql: node tasks (a schedule keeper journals each run's start beside it), or cluster
/// tasks on a cluster of one node (the start is journaled before the run begins).
/// </summary>
public sealed class ActorSchedulerEngine : IEngine, IDelayedStart
{
    private readonly StateStoreVariant? _store;
    private readonly bool _eventsOff;
    private readonly bool _cron;
    private ActorSystem? _system;
    private PeriodicTaskSet? _set;
    private IActorRef? _started;
    private TimeSpan _period;

    public ActorSchedulerEngine()
    {
    }

    internal ActorSchedulerEngine(StateStoreVariant store)
    {
        _store = store;
    }

    /// <summary>
    /// With <paramref name="eventsOff"/>: actor-scheduler.run-events = off, a set whose run events nobody reads. With
    /// <paramref name="cron"/>: tasks <c>* * * * * *</c> (T = 1 s) at the default periodic interval.
    /// </summary>
    internal ActorSchedulerEngine(bool eventsOff = false, bool cron = false)
    {
        _eventsOff = eventsOff;
        _cron = cron;
    }

    public string Name => _store?.EngineName ?? (_cron ? EngineNames.ActorSchedulerCron : _eventsOff ? EngineNames.ActorSchedulerEventsOff : EngineNames.ActorScheduler);

    public async Task PrepareAsync(EngineSpec spec, TaskBody body)
    {
        var interval = (long)spec.Period.TotalMilliseconds;
        _period = spec.Period;
        var config = ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              stdout-loglevel = WARNING
              log-dead-letters = off
              coordinated-shutdown.run-by-clr-shutdown-hook = off
            }
            actor-scheduler {
              {{(_cron ? "" : $"periodic-interval = {interval}ms")}}
              tick-source = precise
              run-events = {{(_eventsOff ? "off" : "all")}}
            }
            """);
        if (_store is not null)
            config = StoreConfig(_store).WithFallback(config).WithFallback(StateSerialization.Config).WithFallback(PeriodicTaskSettings.DefaultConfig());
        if (_store is { Cluster: true })
            config = ConfigurationFactory.ParseString("""
                akka.actor.provider = cluster
                akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
                """).WithFallback(config);
        var options = _cron
            ? new PeriodicTaskOptions { Cron = "* * * * * *" }
            : new PeriodicTaskOptions
            {
                Spacing = spec.Period, RunImmediately = spec.FirstRunAtStart, Scope = _store is { Cluster: true } ? TaskScope.Cluster : TaskScope.Node,
            };
        var set = new PeriodicTaskSet("bench");
        for (var i = 0; i < spec.Tasks; i++)
        {
            var index = i;
            set.Add("t" + i, _cron
                ? (context, ct) => body(index, context.ScheduledAt.UtcTicks, ct) // the occurrence: calendar runs between ticks share a tick number
                : (context, ct) => body(index, context.Tick, ct), options);
        }

        _set = set;
        _system = ActorSystem.Create("bench", config);
        if (_store is { Cluster: true })
        {
            var cluster = Akka.Cluster.Cluster.Get(_system);
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            cluster.Join(cluster.SelfAddress); // a cluster of one node
            await up.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }

        // Warm-up, as for every engine: a throw-away set of one task, so that the first real start does not pay for
        // JIT compilation and Akka's per-type caches (with a store: the journal's and the snapshot store's too).
        var warmup = new PeriodicTaskSet("warmup").Add("w", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { RunImmediately = true });
        var manager = _store is null
            ? _system.ActorOf(PeriodicTasks.Props(warmup, PeriodicTaskSettings.Create(config, "warmup")), "warmup")
            : _system.StartClusterPeriodicTasks(warmup, stopOnCoordinatedShutdown: false).NodeTasks;
        await manager.Ask<Ticked>(new NotifyWhenTicked(0), TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await manager.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        if (_store is not null)
            await manager.Ask<StateFlushed>(FlushState.Instance, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await manager.GracefulStop(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    public Task StartAsync(long epoch, DateTimeOffset epochUtc)
    {
        // What an application calls: it reads the settings, resolves the tasks and starts the manager. Ticks count from
        // this call (with a store: from the end of the keeper's recovery).
        _started = _store switch
        {
            null => _system!.StartPeriodicTasks(_set!),
            { Cluster: true } => _system!.StartClusterPeriodicTasks(_set!, stopOnCoordinatedShutdown: false).ClusterTasks[""],
            _ => _system!.StartClusterPeriodicTasks(_set!, stopOnCoordinatedShutdown: false).NodeTasks,
        };
        return Task.CompletedTask;
    }

    /// <summary>
    /// Without a store, the harness's epoch. With one, the manager starts once the keeper has recovered: its start is
    /// t0's first due time less T (read on the wall clock and carried over to the monotonic one).
    /// </summary>
    public async Task<long> ScheduleEpochAsync(long epoch, DateTimeOffset epochUtc)
    {
        if (_cron)
            return Occurrence.WholeSecondEpoch(epoch, epochUtc);
        if (_store is null)
            return epoch;
        var stats = await _started!.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        var due = stats["t0"].NextDueAt ?? throw new InvalidOperationException("t0 has no next due time");
        var start = due - _period - epochUtc;
        return epoch + (long)(start.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>actor-scheduler.state for <paramref name="store"/>: a fresh SQLite file, or a node id of its own on PostgreSQL.</summary>
    private static Config StoreConfig(StateStoreVariant store)
    {
        string provider, connection;
        var nodeId = "bench-" + Guid.NewGuid().ToString("N");
        if (store.Kind == StateStoreVariant.Sqlite)
        {
            var directory = Directory.CreateTempSubdirectory("actor-scheduler-bench-");
            AppDomain.CurrentDomain.ProcessExit += (_, _) => directory.Delete(recursive: true);
            provider = "SQLite.MS";
            connection = "Data Source=" + Path.Combine(directory.FullName, "state.db");
        }
        else
        {
            provider = "PostgreSQL";
            connection = FreshDatabase(Environment.GetEnvironmentVariable(StateStoreVariant.PostgresVariable)
                ?? throw new InvalidOperationException($"{StateStoreVariant.PostgresVariable} is not set (source .ci/postgres.sh)"));
        }

        return ConfigurationFactory.ParseString($$"""
            actor-scheduler.state {
              store = sql
              provider = "{{provider}}"
              connection-string = "{{connection.Replace("\\", "\\\\").Replace("\"", "\\\"")}}"
              snapshot-every = {{store.SnapshotEvery}}
              node-id = "{{nodeId}}"
              run-history = {{(store.History ? "on" : "off")}}
            }
            """);
    }

    /// <summary>
    /// A database of this worker's own on the server of <paramref name="connection"/>, so that no worker starts on the
    /// journal another one filled; the databases of earlier workers are dropped first, with any backend still busy on
    /// them (a worker exits right after its result, leaving its last statements running).
    /// </summary>
    internal static string FreshDatabase(string connection)
    {
        var database = "bench_" + Guid.NewGuid().ToString("N");
        using (var admin = new Npgsql.NpgsqlConnection(connection))
        {
            admin.Open();
            var old = new List<string>();
            using (var list = new Npgsql.NpgsqlCommand("SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'", admin))
            using (var reader = list.ExecuteReader())
                while (reader.Read())
                    old.Add(reader.GetString(0));
            foreach (var name in old.Append(database))
            {
                var sql = name == database ? $"CREATE DATABASE \"{name}\"" : $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)";
                using var command = new Npgsql.NpgsqlCommand(sql, admin);
                command.ExecuteNonQuery();
            }
        }

        return new Npgsql.NpgsqlConnectionStringBuilder(connection) { Database = database }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_system is not null)
            await _system.Terminate().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }
}
