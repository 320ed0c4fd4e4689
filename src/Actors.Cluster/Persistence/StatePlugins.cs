using ActorScheduler.Configuration;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence.Sql;
using Microsoft.Data.Sqlite;

namespace ActorScheduler.Persistence;

/// <summary>
/// The Akka.Persistence.Sql journal and snapshot store that actor-scheduler.state describes, configured by HOCON at
/// their own plugin ids (so an application's default journal is left alone), with tables created on first start.
/// </summary>
internal static class StatePlugins
{
    public const string JournalId = "akka.persistence.journal.actor-scheduler-sql";
    public const string SnapshotId = "akka.persistence.snapshot-store.actor-scheduler-sql";

    /// <summary>The plugin HOCON for <paramref name="state"/>.</summary>
    internal static Config ToConfig(StateSettings state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var common = $"""
              plugin-dispatcher = "akka.actor.default-dispatcher"
              connection-string = {Hocon.Quote(state.ConnectionString)}
              provider-name = {Hocon.Quote(state.Provider)}
              auto-initialize = {(state.AutoInitialize ? "on" : "off")}
            """;
        return ConfigurationFactory.ParseString($$"""
            {{JournalId}} {
              class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
              prefer-parameters-on-multirow-insert = on
            {{common}}
            }
            {{SnapshotId}} {
              class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
            {{common}}
            }
            """);
    }

    /// <summary>
    /// Makes the plugins of <paramref name="state"/> known to <paramref name="system"/> (as a configuration fallback:
    /// keys the application sets at the same paths win) and registers <see cref="StateSerializer"/>; returns the
    /// journal and snapshot-store plugin ids to use.
    /// </summary>
    internal static (string Journal, string Snapshot) Ensure(ActorSystem system, StateSettings state)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(state);
        StateSerialization.Register(system);
        if (state.JournalPlugin.Length > 0)
            return (state.JournalPlugin, state.SnapshotPlugin);
        system.Settings.InjectTopLevelFallback(ToConfig(state).WithFallback(SqlPersistence.DefaultConfiguration));
        if (state.Provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase))
            UseWriteAheadLog(system, state.ConnectionString);
        return (JournalId, SnapshotId);
    }

    /// <summary>
    /// Puts a SQLite database file in write-ahead-log mode (kept by the file): several processes sharing it then read
    /// while one writes, instead of waiting for each other's writes, which a run's start now waits for
    /// (docs/cluster.md, "State"). A failure is only logged: the journal reports a database it cannot use.
    /// </summary>
    private static void UseWriteAheadLog(ActorSystem system, string connectionString)
    {
        try
        {
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL;";
            command.CommandTimeout = 5;
            var mode = command.ExecuteScalar() as string;
            if (mode is not ("wal" or "memory"))
                system.Log.Warning("actor-scheduler.state: SQLite kept journal mode {0} (not wal): processes sharing the file wait for each other's writes", mode);
        }
        catch (Exception e) when (e is SqliteException or ArgumentException or InvalidOperationException)
        {
            system.Log.Warning("actor-scheduler.state: could not switch the SQLite database to write-ahead-log mode: {0}", e.Message);
        }
    }
}
