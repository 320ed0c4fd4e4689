namespace ActorScheduler.Configuration;

/// <summary>Where each task's place in its schedule is kept (actor-scheduler.state.store).</summary>
internal enum StateStore
{
    /// <summary>Nowhere: every start is a first start.</summary>
    None,

    /// <summary>Akka.Persistence with Akka.Persistence.Sql (SQLite, PostgreSQL, ...).</summary>
    Sql,
}

/// <summary>
/// actor-scheduler.state (a key of the cluster package): where and how each task's place in its schedule (skip counters, last run, next due time,
/// runs in flight) is persisted across restarts and cluster hand-overs. Read once and validated with full paths.
/// </summary>
internal sealed class StateSettings
{
    /// <summary>Every key under actor-scheduler.state.</summary>
    public static readonly IReadOnlyList<string> KnownKeys =
    [
        "store", "provider", "connection-string", "auto-initialize", "snapshot-every", "run-history", "node-id", "journal-plugin",
        "snapshot-plugin",
    ];

    public static readonly StateSettings None = new(
        "actor-scheduler.state", StateStore.None, "SQLite.MS", "Data Source=actor-scheduler.db", true, 100, "", "", "", runHistory: true);

    private StateSettings(
        string path, StateStore store, string provider, string connectionString, bool autoInitialize, int snapshotEvery,
        string nodeId, string journalPlugin, string snapshotPlugin, bool runHistory)
    {
        RunHistory = runHistory;
        Path = path;
        Store = store;
        Provider = provider;
        ConnectionString = connectionString;
        AutoInitialize = autoInitialize;
        SnapshotEvery = snapshotEvery;
        NodeId = nodeId;
        JournalPlugin = journalPlugin;
        SnapshotPlugin = snapshotPlugin;
    }

    /// <summary>The HOCON path these settings were read from.</summary>
    public string Path { get; }

    public StateStore Store { get; }

    /// <summary>The linq2db provider name (SQLite.MS, PostgreSQL, SqlServer.2019, ...).</summary>
    public string Provider { get; }

    public string ConnectionString { get; }

    /// <summary>Create the journal and snapshot tables on first start.</summary>
    public bool AutoInitialize { get; }

    /// <summary>Save a snapshot (and delete the events before it) after this many journal events.</summary>
    public int SnapshotEvery { get; }

    /// <summary>Keep the run history in this database (docs/cluster.md, "Run history"); off: in the managers' memory.</summary>
    public bool RunHistory { get; }

    /// <summary>
    /// Identifies this node's node-scoped state when several nodes share one database. Empty: the node's
    /// host:port when remoting is on, otherwise "local".
    /// </summary>
    public string NodeId { get; }

    /// <summary>An Akka.Persistence journal plugin id to use instead of the one built from provider/connection-string.</summary>
    public string JournalPlugin { get; }

    /// <summary>An Akka.Persistence snapshot-store plugin id to use instead of the one built from provider/connection-string.</summary>
    public string SnapshotPlugin { get; }

    public static StateSettings Read(ConfigReader state)
    {
        state.RejectUnknownKeys(KnownKeys);
        var store = state.Enum("store", StateStore.None, ("none", StateStore.None), ("sql", StateStore.Sql));
        var provider = state.String("provider", "SQLite.MS").Trim();
        var connection = state.String("connection-string", "");
        var journal = state.String("journal-plugin", "").Trim();
        var snapshot = state.String("snapshot-plugin", "").Trim();
        if (store == StateStore.Sql && journal.Length == 0)
        {
            if (provider.Length == 0)
                throw new PeriodicTaskConfigurationException(
                    state.PathOf("provider"), "must name a linq2db provider with store = sql, such as SQLite.MS or PostgreSQL.");
            if (string.IsNullOrWhiteSpace(connection))
                throw new PeriodicTaskConfigurationException(
                    state.PathOf("connection-string"), "must be a connection string with store = sql, such as \"Data Source=actor-scheduler.db\".");
        }

        if ((journal.Length == 0) != (snapshot.Length == 0))
            throw new PeriodicTaskConfigurationException(
                state.PathOf(journal.Length == 0 ? "journal-plugin" : "snapshot-plugin"),
                "set journal-plugin and snapshot-plugin together (or neither, to use provider and connection-string).");

        return new StateSettings(
            state.Path, store, provider, connection, state.Bool("auto-initialize", true),
            state.Int("snapshot-every", 1000, min: 1), state.String("node-id", "").Trim(), journal, snapshot, state.Bool("run-history", true));
    }
}
