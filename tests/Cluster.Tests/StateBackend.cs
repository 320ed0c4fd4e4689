using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>Where a test keeps schedule state: a fresh SQLite file, or the PostgreSQL database of ACTOR_SCHEDULER_TEST_PG.</summary>
public sealed class StateBackend : IDisposable
{
    public const string PostgresVariable = "ACTOR_SCHEDULER_TEST_PG";

    /// <summary>Set to 1 where PostgreSQL must be there (CI exports it): its tests then fail instead of being skipped.</summary>
    public const string RequireVariable = "ACTOR_SCHEDULER_REQUIRE_POSTGRES";

    /// <summary>The first connection attempt's error, or null when PostgreSQL answered: one attempt per test run.</summary>
    private static readonly Lazy<string?> PostgresUnreachable = new(() =>
    {
        try
        {
            using var connection = new Npgsql.NpgsqlConnection(Environment.GetEnvironmentVariable(PostgresVariable));
            connection.Open();
            return null;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    });

    private readonly string? _directory;

    private StateBackend(string provider, string connectionString, string? directory)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _directory = directory;
    }

    public string Provider { get; }

    public string ConnectionString { get; }

    public static StateBackend Sqlite()
    {
        var directory = Path.Combine(Path.GetTempPath(), "actor-scheduler-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return new StateBackend("SQLite.MS", $"Data Source={Path.Combine(directory, "state.db")}", directory);
    }

    public static bool PostgresRequired => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>The database of ACTOR_SCHEDULER_TEST_PG; fails at once, saying why, when it is not set or does not answer.</summary>
    public static StateBackend Postgres()
    {
        var connectionString = Environment.GetEnvironmentVariable(PostgresVariable);
        if (string.IsNullOrEmpty(connectionString))
            throw new InvalidOperationException(PostgresRequired
                ? $"PostgreSQL is required ({RequireVariable}=1) but {PostgresVariable} is not set: the server was not started (see .ci/postgres.sh)."
                : $"{PostgresVariable} is not set.");
        if (PostgresUnreachable.Value is { } error)
            throw new InvalidOperationException($"PostgreSQL of {PostgresVariable} cannot be reached ({Redacted(connectionString)}): {error}");
        return new StateBackend("PostgreSQL", connectionString, null);
    }

    public static StateBackend Of(string name) => name == "postgres" ? Postgres() : Sqlite();

    /// <summary>The actor-scheduler.state section for this backend.</summary>
    public string Hocon => $$"""
        actor-scheduler.state {
          store = sql
          provider = "{{Provider}}"
          connection-string = "{{ConnectionString.Replace("\\", "\\\\").Replace("\"", "\\\"")}}"
        }
        """;

    /// <summary>The connection string without its password, for messages.</summary>
    private static string Redacted(string connectionString) =>
        string.Join(';', connectionString.Split(';').Where(p => !p.TrimStart().StartsWith("Password", StringComparison.OrdinalIgnoreCase)));

    public void Dispose()
    {
        if (_directory is null)
            return;
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a terminating system: the temp directory is cleaned later.
        }
    }
}

/// <summary>
/// A fact that needs PostgreSQL: skipped, with the reason, when ACTOR_SCHEDULER_TEST_PG is not set, unless
/// ACTOR_SCHEDULER_REQUIRE_POSTGRES=1 (CI), where it runs and fails saying that the server is missing.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(StateBackend.PostgresVariable)) && !StateBackend.PostgresRequired)
            Skip = $"PostgreSQL tests need {StateBackend.PostgresVariable} (a connection string); `source .ci/postgres.sh` sets it.";
    }
}
