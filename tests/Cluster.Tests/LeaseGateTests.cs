using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Configuration;
using Akka.Coordination;
using Akka.Event;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// docs/cluster.md, "Never two runs of one cluster task": with a state store, a cluster run begins only while its node
/// holds the lease of the singleton or bucket that runs it; a start the keeper is asked to record without it is refused,
/// and the run ends as cancelled with a warning. The keeper here stands alone (no singleton): the test takes and
/// releases the very lease instance the keeper checks, as ClusterSingletonManager would.
/// </summary>
public sealed class LeaseGateTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly StateBackend _backend = StateBackend.Sqlite();
    private ActorSystem? _system;

    [Fact]
    public async Task A_cluster_run_begins_only_while_its_node_holds_the_lease()
    {
        var system = _system = ActorSystem.Create("actor-scheduler", ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            actor-scheduler.state { store = sql, provider = "{{_backend.Provider}}", connection-string = "{{_backend.ConnectionString}}" }
            """).WithFallback(StateSerialization.Config).WithFallback(ClusterConfiguration.DefaultConfig()).WithFallback(PeriodicTaskSettings.DefaultConfig()));
        var probe = new Akka.TestKit.Xunit2.TestKit(system, output).CreateTestProbe();
        system.EventStream.Subscribe(probe, typeof(PeriodicTaskStarted));
        system.EventStream.Subscribe(probe, typeof(Warning));

        var leaseName = "lease-gate-" + Guid.NewGuid().ToString("N")[..8];
        var settings = ClusterConfiguration.CreateSettings(system.Settings.Config, "gate");
        var plugins = StatePlugins.Ensure(system, settings.State);
        var set = new PeriodicTaskSet("gate").Add("sync", _ => { }, new PeriodicTaskOptions { Scope = TaskScope.Cluster, RunImmediately = true });
        var manager = system.ActorOf(ScheduleKeeper.ManagerProps("test/gate-" + leaseName, "gate", settings.Resolve(set), settings,
            plugins.Journal, plugins.Snapshot, withTicker: false, scope: TaskScope.Cluster, lease: (leaseName, ClusterPeriodicTasks.LeaseConfigPath)));

        manager.Tell(new Tick(0)); // sync is due on every tick, from tick 0
        probe.FishForMessage<Warning>(w => w.Message.ToString()!.Contains($"does not begin: this node does not hold the lease {leaseName}"), Wait);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["sync"];
        Assert.Equal((1L, 1L, false), (stats.Runs, stats.Cancelled, stats.Running));

        var lease = LeaseProvider.Get(system).GetLease(leaseName, ClusterPeriodicTasks.LeaseConfigPath, Akka.Cluster.Cluster.Get(system).SelfAddress.HostPort());
        Assert.True(await lease.Acquire().WaitAsync(Wait));
        manager.Tell(new Tick(1));
        Assert.Equal(1, probe.FishForMessage<PeriodicTaskStarted>(_ => true, Wait).Tick);

        Assert.True(await lease.Release().WaitAsync(Wait));
        manager.Tell(new Tick(2));
        probe.FishForMessage<Warning>(w => w.Message.ToString()!.Contains("the run of tick 2 does not begin"), Wait);
        stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["sync"];
        Assert.Equal((3L, 1L, 2L), (stats.Runs, stats.Succeeded, stats.Cancelled));
    }

    public void Dispose()
    {
        _system?.Terminate().Wait(Wait);
        _backend.Dispose();
    }
}
