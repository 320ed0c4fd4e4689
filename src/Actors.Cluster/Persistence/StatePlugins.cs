using ActorScheduler.Configuration;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Sql;

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
        return (JournalId, SnapshotId);
    }
}
