using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>Where a test keeps schedule state: a fresh SQLite file, or the PostgreSQL database of ACTOR_SCHEDULER_TEST_PG.</summary>
public sealed class StateBackend : IDisposable
{
    public const string PostgresVariable = "ACTOR_SCHEDULER_TEST_PG";

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

    public static StateBackend Postgres() =>
        new("PostgreSQL", Environment.GetEnvironmentVariable(PostgresVariable)
            ?? throw new InvalidOperationException($"{PostgresVariable} is not set."), null);

    public static StateBackend Of(string name) => name == "postgres" ? Postgres() : Sqlite();

    /// <summary>The actor-scheduler.state section for this backend.</summary>
    public string Hocon => $$"""
        actor-scheduler.state {
          store = sql
          provider = "{{Provider}}"
          connection-string = "{{ConnectionString.Replace("\\", "\\\\").Replace("\"", "\\\"")}}"
        }
        """;

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

/// <summary>A fact that needs PostgreSQL: skipped, with the reason, when ACTOR_SCHEDULER_TEST_PG is not set.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(StateBackend.PostgresVariable)))
            Skip = $"PostgreSQL tests need {StateBackend.PostgresVariable} (a connection string); `source .ci/postgres.sh` sets it.";
    }
}
