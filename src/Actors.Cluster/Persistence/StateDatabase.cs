using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. The state store's own database (SQLite or PostgreSQL), reached with plain ADO.NET for the tables the
/// package keeps beside Akka.Persistence's: the lease's and the run history's. A connection to a SQLite file waits for
/// another writer instead of failing; each group of tables is created once per process.
/// </summary>
internal sealed class StateDatabase
{
    /// <summary>The tables this process has created (or found), by database and first statement.</summary>
    private static readonly ConcurrentDictionary<string, bool> Created = new();

    private readonly string _connectionString;

    private StateDatabase(bool postgres, string connectionString, TimeSpan timeout)
    {
        Postgres = postgres;
        _connectionString = connectionString;
        Timeout = timeout;
        Name = $"{(postgres ? "PostgreSQL" : "SQLite")} database ({Redacted(connectionString, postgres)})";
    }

    public bool Postgres { get; }

    /// <summary>The database for messages: its kind and connection string without password.</summary>
    public string Name { get; }

    /// <summary>How long a statement (and, on SQLite, the wait for another writer) may take.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>True for a linq2db provider this class can reach (SQLite.MS, PostgreSQL, ...).</summary>
    public static bool Supports(string provider) =>
        provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase) || provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase);

    /// <summary>The database of linq2db provider <paramref name="provider"/>; <paramref name="user"/> names who refuses another one.</summary>
    /// <exception cref="ArgumentException">a provider other than SQLite or PostgreSQL, or no connection string.</exception>
    public static StateDatabase Create(string provider, string connectionString, TimeSpan timeout, string user)
    {
        if (!Supports(provider))
            throw new ArgumentException($"provider \"{provider}\" is not supported by {user}; use SQLite.MS or PostgreSQL.");
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new ArgumentException("connection-string is empty.");
        return new StateDatabase(provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase), connectionString, timeout);
    }

    /// <summary>
    /// An open connection; <paramref name="tables"/> (CREATE ... IF NOT EXISTS statements) are run first, once per process.
    /// Microsoft.Data.Sqlite's async methods complete before they return, so on SQLite the caller's work from here on
    /// moves to the thread pool: an actor that starts a call and pipes its result back is not held while SQLite works.
    /// </summary>
    public async Task<DbConnection> OpenAsync(IReadOnlyList<string> tables, CancellationToken ct)
    {
        if (!Postgres)
            await Task.Yield();
        DbConnection connection = Postgres ? new NpgsqlConnection(_connectionString) : new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(ct);
            if (!Postgres)
            {
                // Wait for a writer of another process (or connection) instead of failing with SQLITE_BUSY.
                await using var busy = Command(connection, $"PRAGMA busy_timeout = {(long)Timeout.TotalMilliseconds}");
                await busy.ExecuteNonQueryAsync(ct);
            }

            var key = Name + "\n" + tables[0];
            if (!Created.ContainsKey(key))
            {
                foreach (var sql in tables)
                    await CreateAsync(connection, sql, ct);
                Created[key] = true;
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task CreateAsync(DbConnection connection, string sql, CancellationToken ct)
    {
        await using var command = Command(connection, sql);
        try
        {
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
        {
            // Another process created it at the same moment (PostgreSQL's IF NOT EXISTS is not atomic).
        }
    }

    /// <summary>A command with named parameters (@name).</summary>
    public DbCommand Command(DbConnection connection, string sql, params (string Name, object? Value)[] parameters) =>
        Command(connection, null, sql, parameters);

    /// <summary>A command with named parameters (@name), in <paramref name="transaction"/> when one is given.</summary>
    public DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.CommandTimeout = Math.Max(1, (int)Math.Ceiling(Timeout.TotalSeconds));
        foreach (var (name, value) in parameters)
            Add(command, name, value);
        return command;
    }

    /// <summary>Adds parameter @<paramref name="name"/> (null is SQL's NULL).</summary>
    public static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@" + name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
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
