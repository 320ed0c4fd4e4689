using System.Data.Common;
using ActorScheduler.Persistence;

namespace ActorScheduler.Coordination;

/// <summary>
/// The table actor_scheduler_lease in the state store's database (SQLite or PostgreSQL): one row per lease, each change
/// one atomic statement. Expiry is judged by the database's clock only (PostgreSQL's server clock; for SQLite, a file
/// shared by the processes of one machine, that machine's clock), in milliseconds since the Unix epoch.
/// </summary>
internal sealed class SqlLeaseStore
{
    private const string Table = "actor_scheduler_lease";

    private static readonly string[] Tables =
    [
        $"""
        CREATE TABLE IF NOT EXISTS {Table} (
          name TEXT NOT NULL PRIMARY KEY,
          owner TEXT NOT NULL,
          expires_at BIGINT NOT NULL,
          version BIGINT NOT NULL)
        """,
    ];

    private readonly StateDatabase _db;
    private readonly string _now;

    private SqlLeaseStore(StateDatabase db)
    {
        _db = db;
        _now = db.Postgres
            ? "(extract(epoch from clock_timestamp()) * 1000)::bigint"
            : "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
    }

    /// <summary>The database for messages: its kind and connection string without password.</summary>
    public string Database => _db.Name;

    /// <summary>A store for linq2db provider <paramref name="provider"/> (SQLite.MS, PostgreSQL, ...).</summary>
    /// <exception cref="ArgumentException">a provider other than SQLite or PostgreSQL, or no connection string.</exception>
    public static SqlLeaseStore Create(string provider, string connectionString, TimeSpan operationTimeout) =>
        new(StateDatabase.Create(provider, connectionString, operationTimeout, "the lease"));

    /// <summary>Takes the lease when it is free, expired or already <paramref name="owner"/>'s: its new version, or null when another owner holds it.</summary>
    public async Task<long?> TryAcquireAsync(string name, string owner, long ttlMs, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, $"""
            INSERT INTO {Table} (name, owner, expires_at, version) VALUES (@name, @owner, {_now} + @ttl, 1)
            ON CONFLICT (name) DO UPDATE
              SET owner = excluded.owner, expires_at = excluded.expires_at, version = {Table}.version + 1
              WHERE {Table}.owner = excluded.owner OR {Table}.expires_at <= {_now}
            RETURNING version
            """, ("name", name), ("owner", owner), ("ttl", ttlMs));
        var result = await command.ExecuteScalarAsync(ct);
        return result is null or DBNull ? null : Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Extends the lease if it is still this holding's (owner and version) and not expired; false otherwise.</summary>
    public async Task<bool> RenewAsync(string name, string owner, long version, long ttlMs, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, $"""
            UPDATE {Table} SET expires_at = {_now} + @ttl
            WHERE name = @name AND owner = @owner AND version = @version AND expires_at > {_now}
            """, ("name", name), ("owner", owner), ("version", version), ("ttl", ttlMs));
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>Ends <paramref name="owner"/>'s holding (of <paramref name="version"/> when known) by expiring it now.</summary>
    public async Task ReleaseAsync(string name, string owner, long? version, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = version is { } v
            ? Command(connection, $"UPDATE {Table} SET expires_at = 0 WHERE name = @name AND owner = @owner AND version = @version",
                ("name", name), ("owner", owner), ("version", v))
            : Command(connection, $"UPDATE {Table} SET expires_at = 0 WHERE name = @name AND owner = @owner",
                ("name", name), ("owner", owner));
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The row of lease <paramref name="name"/>: its owner and milliseconds left (negative: expired), or null.</summary>
    public async Task<(string Owner, long RemainingMs)?> ReadAsync(string name, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, $"SELECT owner, expires_at - {_now} FROM {Table} WHERE name = @name", ("name", name));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetString(0), reader.GetInt64(1)) : null;
    }

    private Task<DbConnection> OpenAsync(CancellationToken ct) => _db.OpenAsync(Tables, ct);

    private DbCommand Command(DbConnection connection, string sql, params (string Name, object? Value)[] parameters) =>
        _db.Command(connection, sql, parameters);
}
