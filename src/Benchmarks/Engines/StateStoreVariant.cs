using System.Globalization;

namespace ActorScheduler.Benchmarks.Engines;

/// <summary>
/// ActorScheduler with a state store (actor-scheduler.state.store = sql): engine names
/// actorscheduler-sqlite[@N] and actorscheduler-postgres[@N], N being state.snapshot-every (default 100).
/// </summary>
/// <param name="Kind">sqlite (a temp file per worker) or postgres (the database of ACTOR_SCHEDULER_TEST_PG).</param>
/// <param name="SnapshotEvery">actor-scheduler.state.snapshot-every.</param>
internal sealed record StateStoreVariant(string Kind, int SnapshotEvery)
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string PostgresVariable = "ACTOR_SCHEDULER_TEST_PG";

    /// <summary>The default of actor-scheduler.state.snapshot-every.</summary>
    public const int DefaultSnapshotEvery = 100;

    public string EngineName => EngineNames.ActorScheduler + "-" + Kind + (SnapshotEvery == DefaultSnapshotEvery ? "" : "@" + SnapshotEvery.ToString(CultureInfo.InvariantCulture));

    public string Display =>
        FormattableString.Invariant($"ActorScheduler + {(Kind == Sqlite ? "SQLite" : "PostgreSQL")} (snapshot-every {SnapshotEvery:N0})");

    /// <summary>The variant an engine name stands for, or null when it names no state store.</summary>
    public static StateStoreVariant? Parse(string engine)
    {
        var prefix = EngineNames.ActorScheduler + "-";
        if (!engine.StartsWith(prefix, StringComparison.Ordinal))
            return null;
        var rest = engine[prefix.Length..];
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        var kind = at < 0 ? rest : rest[..at];
        if (kind is not (Sqlite or Postgres))
            return null;
        var every = at < 0 ? DefaultSnapshotEvery : int.Parse(rest[(at + 1)..], CultureInfo.InvariantCulture);
        return new StateStoreVariant(kind, every);
    }
}
