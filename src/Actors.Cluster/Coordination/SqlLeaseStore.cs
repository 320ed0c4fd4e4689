using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ActorScheduler.Coordination;

/// <summary>
/// The table actor_scheduler_lease in the state store's database (SQLite or PostgreSQL): one row per lease, each change
/// one atomic statement. Expiry is judged by the database's clock only (PostgreSQL's server clock; for SQLite, a file
/// shared by the processes of one machine, that machine's clock), in milliseconds since the Unix epoch.
/// </summary>
internal sealed class SqlLeaseStore
{
    private const string Table = "actor_scheduler_lease";

    /// <summary>The databases whose table this process has created (or found): CREATE TABLE once per process.</summary>
    private static readonly ConcurrentDictionary<string, bool> Created = new();

    private readonly bool _postgres;
    private readonly string _connectionString;
    private readonly TimeSpan _timeout;
    private readonly string _now;

    private SqlLeaseStore(bool postgres, string connectionString, TimeSpan timeout)
    {
        _postgres = postgres;
        _connectionString = connectionString;
        _timeout = timeout;
        _now = postgres
            ? "(extract(epoch from clock_timestamp()) * 1000)::bigint"
            : "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
        Database = $"{(postgres ? "PostgreSQL" : "SQLite")} database ({Redacted(connectionString, postgres)})";
    }

    /// <summary>The database for messages: its kind and connection string without password.</summary>
    public string Database { get; }

    /// <summary>A store for linq2db provider <paramref name="provider"/> (SQLite.MS, PostgreSQL, ...).</summary>
    /// <exception cref="ArgumentException">a provider other than SQLite or PostgreSQL, or no connection string.</exception>
    public static SqlLeaseStore Create(string provider, string connectionString, TimeSpan operationTimeout)
    {
        var postgres = provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase);
        if (!postgres && !provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"provider \"{provider}\" is not supported by the lease; use SQLite.MS or PostgreSQL.");
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new ArgumentException("connection-string is empty.");
        return new SqlLeaseStore(postgres, connectionString, operationTimeout);
    }

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

    private async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        DbConnection connection = _postgres ? new NpgsqlConnection(_connectionString) : new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(ct);
            if (!_postgres)
            {
                // Wait for a writer of another process (or connection) instead of failing with SQLITE_BUSY.
                await using var busy = Command(connection, $"PRAGMA busy_timeout = {(long)_timeout.TotalMilliseconds}");
                await busy.ExecuteNonQueryAsync(ct);
            }

            if (!Created.ContainsKey(Database))
            {
                await CreateTableAsync(connection, ct);
                Created[Database] = true;
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task CreateTableAsync(DbConnection connection, CancellationToken ct)
    {
        await using var command = Command(connection, $"""
            CREATE TABLE IF NOT EXISTS {Table} (
              name TEXT NOT NULL PRIMARY KEY,
              owner TEXT NOT NULL,
              expires_at BIGINT NOT NULL,
              version BIGINT NOT NULL)
            """);
        try
        {
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
        {
            // Another process created it at the same moment (PostgreSQL's IF NOT EXISTS is not atomic).
        }
    }

    private DbCommand Command(DbConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = Math.Max(1, (int)Math.Ceiling(_timeout.TotalSeconds));
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    /// <summary><paramref name="connectionString"/> without its password.</summary>
    internal static string Redacted(string connectionString, bool postgres)
    {
        try
        {
            DbConnectionStringBuilder builder = postgres
                ? new NpgsqlConnectionStringBuilder(connectionString)
                : new SqliteConnectionStringBuilder(connectionString);
            foreach (var key in builder.Keys.Cast<string>().ToList())
                if (key.Equals("password", StringComparison.OrdinalIgnoreCase) || key.Equals("pwd", StringComparison.OrdinalIgnoreCase))
                    builder.Remove(key);
            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            return "a connection string that does not parse";
        }
    }
}
