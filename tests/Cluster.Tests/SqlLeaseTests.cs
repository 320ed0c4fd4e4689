using System.Data.Common;
using System.Diagnostics;
using ActorScheduler.Configuration;
using ActorScheduler.Coordination;
using Akka.Actor;
using Akka.Configuration;
using Akka.Coordination;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// The lease of akka.coordination.lease.actor-scheduler (SqlLease), created through Akka's LeaseProvider as the
/// singleton and sharding do, on two ActorSystems sharing one database; short timings (heartbeat-timeout 2s).
/// </summary>
internal sealed class SqlLeaseScenarios(StateBackend backend) : IDisposable
{
    public const string ConfigPath = "akka.coordination.lease.actor-scheduler";
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);

    private readonly List<ActorSystem> _systems = [];

    /// <summary>A system with the cluster-reference config, <paramref name="state"/> (the backend's by default) and the short timings.</summary>
    public ActorSystem System(string? state = null)
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            {{state ?? backend.Hocon}}
            {{ConfigPath}} {
              heartbeat-timeout = {{(int)Ttl.TotalMilliseconds}}ms
              heartbeat-interval = 200ms
              lease-operation-timeout = 3s
            }
            """);
        var system = ActorSystem.Create("lease", config.WithFallback(ClusterConfiguration.DefaultConfig()).WithFallback(PeriodicTaskSettings.DefaultConfig()));
        _systems.Add(system);
        return system;
    }

    public static SqlLease Lease(ActorSystem system, string name, string owner) =>
        Assert.IsType<SqlLease>(LeaseProvider.Get(system).GetLease(name, ConfigPath, owner));

    public static string NewName() => "lease-" + Guid.NewGuid().ToString("N")[..12];

    public async Task Only_one_of_several_owners_racing_for_a_lease_gets_it()
    {
        ActorSystem[] nodes = [System(), System()];
        for (var round = 0; round < 15; round++)
        {
            var name = NewName();
            var leases = Enumerable.Range(0, 4).Select(i => Lease(nodes[i % 2], name, $"node-{i}:2552")).ToList();
            var results = await Task.WhenAll(leases.Select(l => l.Acquire()));
            Assert.Single(results, r => r);
            for (var i = 0; i < leases.Count; i++)
                Assert.Equal(results[i], leases[i].CheckLease());
            await Task.WhenAll(leases.Select(l => l.Release()));
        }
    }

    public async Task A_holder_that_stops_renewing_loses_the_lease_before_another_owner_can_take_it()
    {
        var name = NewName();
        var frozen = Lease(System(), name, "frozen:2552");
        var other = Lease(System(), name, "other:2552");
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lostCount = 0;
        var acquiring = Stopwatch.StartNew(); // the holder's deadline counts from the start of its acquire
        Assert.True(await frozen.Acquire(e =>
        {
            Interlocked.Increment(ref lostCount);
            lost.TrySetResult(e);
        }));

        frozen.RenewalsSuspended = true;
        var suspended = Stopwatch.StartNew();
        Assert.False(await other.Acquire());
        Assert.True(suspended.Elapsed < Ttl / 2, "the first attempt should have come well before the TTL");
        Assert.True(frozen.CheckLease());

        // The other owner polls; when it gets the lease, the frozen one must already know that it lost it.
        TimeSpan? sawLost = null;
        var acquired = false;
        while (!acquired)
        {
            Assert.True(suspended.Elapsed < Ttl * 4, "the other owner never got the expired lease");
            if (sawLost is null && !frozen.CheckLease())
                sawLost = acquiring.Elapsed;
            acquired = await other.Acquire();
            if (acquired)
            {
                Assert.False(frozen.CheckLease());
                Assert.True(suspended.Elapsed >= Ttl / 2, $"the other owner got the lease {suspended.Elapsed} after the freeze");
            }
            else
            {
                await Task.Delay(50);
            }
        }

        Assert.NotNull(sawLost);
        Assert.True(sawLost >= Ttl / 2, $"CheckLease was false {sawLost} after the acquire began, too early");
        var reason = await lost.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsType<LeaseException>(reason);
        Assert.Contains(name, reason.Message);
        Assert.Contains("frozen:2552", reason.Message);
        Assert.False(frozen.CheckLease());
        Assert.True(other.CheckLease());

        await Task.Delay(500);
        Assert.Equal(1, Volatile.Read(ref lostCount));
        Assert.False(frozen.CheckLease());
        await other.Release();
    }

    public async Task Release_lets_another_owner_acquire_at_once()
    {
        var name = NewName();
        var first = Lease(System(), name, "first:2552");
        var second = Lease(System(), name, "second:2552");
        var lostCount = 0;
        Assert.True(await first.Acquire(_ => Interlocked.Increment(ref lostCount)));
        Assert.False(await second.Acquire());

        var released = Stopwatch.StartNew();
        Assert.True(await first.Release());
        Assert.False(first.CheckLease());
        Assert.True(await second.Acquire());
        Assert.True(released.Elapsed < Ttl / 2, $"the second owner got the lease {released.Elapsed} after the release");
        Assert.True(second.CheckLease());

        await Task.Delay(500);
        Assert.Equal(0, Volatile.Read(ref lostCount));
        await second.Release();
    }

    public async Task Acquiring_again_by_the_holder_is_true_and_keeps_one_row_and_renewals_hold_it_past_the_ttl()
    {
        var name = NewName();
        var system = System();
        var holder = Lease(system, name, "holder:2552");
        var other = Lease(System(), name, "other:2552");
        var lostCount = 0;
        Assert.True(await holder.Acquire(_ => Interlocked.Increment(ref lostCount)));
        Assert.True(await holder.Acquire(_ => Interlocked.Increment(ref lostCount)));
        Assert.True(holder.CheckLease());
        Assert.Equal(1, await RowsAsync(name));

        // Renewed every heartbeat-interval, it is still held well after heartbeat-timeout.
        var held = Stopwatch.StartNew();
        while (held.Elapsed < Ttl * 1.5)
        {
            Assert.True(holder.CheckLease(), $"not held {held.Elapsed} after the acquire");
            await Task.Delay(100);
        }

        Assert.False(await other.Acquire());
        Assert.Equal(0, Volatile.Read(ref lostCount));
        Assert.Equal(1, await RowsAsync(name));
        await holder.Release();
    }

    public async Task A_renewal_that_finds_another_owner_in_the_database_loses_the_lease()
    {
        var name = NewName();
        var holder = Lease(System(), name, "holder:2552");
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        Assert.True(await holder.Acquire(e => lost.TrySetResult(e)));

        // As if the row had expired by the database's clock and another node had taken it.
        await SqlAsync(name, "UPDATE actor_scheduler_lease SET owner = 'intruder:2552', version = version + 1 WHERE name = @name");
        var reason = await lost.Task.WaitAsync(Ttl);
        Assert.Contains(name, reason.Message);
        Assert.Contains("holder:2552", reason.Message);
        Assert.Contains("intruder:2552", reason.Message);
        Assert.False(holder.CheckLease());
        Assert.False(await holder.Acquire());
    }

    private async Task<long> RowsAsync(string name) =>
        Convert.ToInt64(await SqlAsync(name, "SELECT COUNT(*) FROM actor_scheduler_lease WHERE name = @name"));

    private async Task<object?> SqlAsync(string name, string sql)
    {
        await using DbConnection connection = backend.Provider == "PostgreSQL"
            ? new Npgsql.NpgsqlConnection(backend.ConnectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection(backend.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@name";
        parameter.Value = name;
        command.Parameters.Add(parameter);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Acquire with the database of <paramref name="state"/> fails with a LeaseException; its message.</summary>
    public async Task<string> AcquireFailsAsync(string state)
    {
        var name = NewName();
        var lease = Lease(System(state), name, "node:2552");
        var error = await Assert.ThrowsAsync<LeaseException>(() => lease.Acquire(_ => { }).WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.False(lease.CheckLease());
        Assert.Contains(name, error.Message);
        Assert.Contains("node:2552", error.Message);
        Assert.DoesNotContain("   at ", error.Message);
        await lease.Release(); // does not throw
        return error.Message;
    }

    public void Dispose()
    {
        foreach (var system in _systems)
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        backend.Dispose();
    }
}

public sealed class SqlLeaseSqliteTests : IDisposable
{
    private readonly SqlLeaseScenarios _scenarios = new(StateBackend.Sqlite());

    [Fact]
    public Task Only_one_of_several_owners_racing_for_a_lease_gets_it() => _scenarios.Only_one_of_several_owners_racing_for_a_lease_gets_it();

    [Fact]
    public Task A_holder_that_stops_renewing_loses_the_lease_before_another_owner_can_take_it() =>
        _scenarios.A_holder_that_stops_renewing_loses_the_lease_before_another_owner_can_take_it();

    [Fact]
    public Task Release_lets_another_owner_acquire_at_once() => _scenarios.Release_lets_another_owner_acquire_at_once();

    [Fact]
    public Task A_renewal_that_finds_another_owner_in_the_database_loses_the_lease() =>
        _scenarios.A_renewal_that_finds_another_owner_in_the_database_loses_the_lease();

    [Fact]
    public Task Acquiring_again_by_the_holder_is_true_and_keeps_one_row_and_renewals_hold_it_past_the_ttl() =>
        _scenarios.Acquiring_again_by_the_holder_is_true_and_keeps_one_row_and_renewals_hold_it_past_the_ttl();

    [Fact]
    public async Task A_sqlite_file_that_cannot_be_opened_fails_acquire_naming_the_lease_and_the_database()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "lease.db");
        var message = await _scenarios.AcquireFailsAsync($$"""actor-scheduler.state { provider = "SQLite.MS", connection-string = "Data Source={{path}}" }""");
        Assert.Contains("SQLite database (", message);
        Assert.Contains(path, message);
    }

    [Fact]
    public async Task An_unreachable_postgres_fails_acquire_naming_the_lease_and_the_database_without_its_password()
    {
        var message = await _scenarios.AcquireFailsAsync(
            """actor-scheduler.state { provider = "PostgreSQL", connection-string = "Host=127.0.0.1;Port=1;Database=leases;Username=u;Password=s3cret-pw" }""");
        Assert.Contains("PostgreSQL database (", message);
        Assert.Contains("127.0.0.1", message);
        Assert.DoesNotContain("s3cret-pw", message);
    }

    [Fact]
    public async Task An_unsupported_provider_fails_acquire_naming_the_state_settings()
    {
        var message = await _scenarios.AcquireFailsAsync("""actor-scheduler.state { provider = "SqlServer.2019", connection-string = "Server=x" }""");
        Assert.Contains("actor-scheduler.state", message);
        Assert.Contains("SqlServer.2019", message);
    }

    public void Dispose() => _scenarios.Dispose();
}

public sealed class SqlLeasePostgresTests : IDisposable
{
    private readonly Lazy<SqlLeaseScenarios> _scenarios = new(() => new SqlLeaseScenarios(StateBackend.Postgres()));

    [PostgresFact]
    public Task Only_one_of_several_owners_racing_for_a_lease_gets_it() => _scenarios.Value.Only_one_of_several_owners_racing_for_a_lease_gets_it();

    [PostgresFact]
    public Task A_holder_that_stops_renewing_loses_the_lease_before_another_owner_can_take_it() =>
        _scenarios.Value.A_holder_that_stops_renewing_loses_the_lease_before_another_owner_can_take_it();

    [PostgresFact]
    public Task Release_lets_another_owner_acquire_at_once() => _scenarios.Value.Release_lets_another_owner_acquire_at_once();

    [PostgresFact]
    public Task A_renewal_that_finds_another_owner_in_the_database_loses_the_lease() =>
        _scenarios.Value.A_renewal_that_finds_another_owner_in_the_database_loses_the_lease();

    [PostgresFact]
    public Task Acquiring_again_by_the_holder_is_true_and_keeps_one_row_and_renewals_hold_it_past_the_ttl() =>
        _scenarios.Value.Acquiring_again_by_the_holder_is_true_and_keeps_one_row_and_renewals_hold_it_past_the_ttl();

    public void Dispose()
    {
        if (_scenarios.IsValueCreated)
            _scenarios.Value.Dispose();
    }
}
