using System.Globalization;

namespace ActorScheduler.Benchmarks.Engines;

/// <summary>
/// ActorScheduler with a state store (actor-scheduler.state.store = sql): engine names
/// actorscheduler-sqlite[-cluster][-memory-history][@N] and actorscheduler-postgres[-cluster][-memory-history][@N], N being
/// state.snapshot-every (default 1000); "-cluster": the tasks are cluster tasks on a cluster of one node, so each run's
/// start is written before it; "-memory-history": state.run-history = off (the run history in memory, not in the store).
/// </summary>
/// <param name="Kind">sqlite (a temp file per worker) or postgres (the database of ACTOR_SCHEDULER_TEST_PG).</param>
/// <param name="SnapshotEvery">actor-scheduler.state.snapshot-every.</param>
/// <param name="Cluster">Cluster tasks (in a singleton on a cluster of one node) rather than node tasks.</param>
/// <param name="History">state.run-history: the run history in the store's database (on, the default) or in memory.</param>
internal sealed record StateStoreVariant(string Kind, int SnapshotEvery, bool Cluster = false, bool History = true)
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string PostgresVariable = "ACTOR_SCHEDULER_TEST_PG";

    /// <summary>The default of actor-scheduler.state.snapshot-every.</summary>
    public const int DefaultSnapshotEvery = 1000;

    private const string ClusterSuffix = "-cluster";
    private const string MemoryHistorySuffix = "-memory-history";

    public string EngineName => EngineNames.ActorScheduler + "-" + Kind + (Cluster ? ClusterSuffix : "") + (History ? "" : MemoryHistorySuffix) + (SnapshotEvery == DefaultSnapshotEvery ? "" : "@" + SnapshotEvery.ToString(CultureInfo.InvariantCulture));

    public string Display =>
        FormattableString.Invariant($"ActorScheduler + {(Kind == Sqlite ? "SQLite" : "PostgreSQL")} ({(Cluster ? "cluster" : "node")} tasks, snapshot-every {SnapshotEvery:N0}{(History ? "" : ", history in memory")})");

    /// <summary>The variant an engine name stands for, or null when it names no state store.</summary>
    public static StateStoreVariant? Parse(string engine)
    {
        var prefix = EngineNames.ActorScheduler + "-";
        if (!engine.StartsWith(prefix, StringComparison.Ordinal))
            return null;
        var rest = engine[prefix.Length..];
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        var kind = at < 0 ? rest : rest[..at];
        var history = !kind.EndsWith(MemoryHistorySuffix, StringComparison.Ordinal);
        if (!history)
            kind = kind[..^MemoryHistorySuffix.Length];
        var cluster = kind.EndsWith(ClusterSuffix, StringComparison.Ordinal);
        if (cluster)
            kind = kind[..^ClusterSuffix.Length];
        if (kind is not (Sqlite or Postgres))
            return null;
        var every = at < 0 ? DefaultSnapshotEvery : int.Parse(rest[(at + 1)..], CultureInfo.InvariantCulture);
        return new StateStoreVariant(kind, every, cluster, history);
    }
}
