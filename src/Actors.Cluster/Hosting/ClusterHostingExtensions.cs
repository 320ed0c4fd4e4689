using System.Globalization;
using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Persistence;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Akka.DependencyInjection;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ActorScheduler.Hosting;

/// <summary>
/// ActorRegistry key of the proxy of a task set's cluster-scoped tasks (of any role; with distribution = sharded, the local
/// actor that reaches their buckets) registered under <typeparamref name="TKey"/>.
/// </summary>
public sealed class ClusterTasks<TKey>
{
    private ClusterTasks()
    {
    }
}

/// <summary>
/// Akka.Hosting registration of task sets with cluster-scoped tasks and persisted schedules, next to Akka.Cluster.Hosting's
/// WithClustering (which the application calls itself, with its remoting, seed nodes, roles and split brain resolver).
/// </summary>
public static class ClusterHostingExtensions
{
    /// <summary>
    /// Starts the task set of <typeparamref name="TManager"/>'s [PeriodicTask] methods (plus the tasks added to the
    /// options) with <see cref="ClusterPeriodicTasks.StartClusterPeriodicTasks(ActorSystem, PeriodicTaskSet, bool)"/>: node-scoped tasks on this node
    /// (registered under <typeparamref name="TManager"/>), cluster-scoped tasks in a cluster singleton per role (or in
    /// buckets spread over the nodes, with actor-scheduler.cluster.distribution = sharded), whose proxy for role "" is
    /// registered under <see cref="ClusterTasks{TKey}"/>. <see cref="PeriodicTaskClient{TKey}"/>
    /// (after AddPeriodicTaskClients) covers the whole set: this node's tasks and every role's cluster tasks.
    /// </summary>
    public static AkkaConfigurationBuilder WithClusterPeriodicTasks<TManager>(
        this AkkaConfigurationBuilder builder, Action<PeriodicTaskSetOptions>? configure = null)
        where TManager : class =>
        builder.WithClusterPeriodicTasks<TManager>(typeof(TManager).Name, configure, includeManagerTasks: true);

    /// <summary>As above, for a set of code-registered tasks only, registered under the marker type <typeparamref name="TKey"/>.</summary>
    public static AkkaConfigurationBuilder WithClusterPeriodicTasks<TKey>(
        this AkkaConfigurationBuilder builder, string setName, Action<PeriodicTaskSetOptions> configure) =>
        builder.WithClusterPeriodicTasks<TKey>(setName, configure, includeManagerTasks: false);

    /// <summary>
    /// actor-scheduler.state as code: keep each task's place in its schedule in the database of
    /// <paramref name="connectionString"/> through Akka.Persistence.Sql (provider "SQLite.MS", "PostgreSQL", ...).
    /// </summary>
    public static AkkaConfigurationBuilder WithPeriodicTaskState(
        this AkkaConfigurationBuilder builder, string provider, string connectionString, int? snapshotEvery = null)
    {
        var hocon = $"actor-scheduler.state {{\n  store = sql\n  provider = {Hocon.Quote(provider)}\n  connection-string = {Hocon.Quote(connectionString)}\n"
            + (snapshotEvery is { } every ? $"  snapshot-every = {every.ToString(CultureInfo.InvariantCulture)}\n" : "")
            + "}\n";
        builder.AddHocon(ConfigurationFactory.ParseString(hocon), HoconAddMode.Prepend);
        return builder;
    }

    private static AkkaConfigurationBuilder WithClusterPeriodicTasks<TKey>(
        this AkkaConfigurationBuilder builder, string defaultSetName, Action<PeriodicTaskSetOptions>? configure, bool includeManagerTasks)
    {
        var options = AkkaHostingExtensions.AddSetOptions(builder, defaultSetName, configure, out var setName);
        builder.AddHocon(StateSerialization.Config, HoconAddMode.Append);
        builder.AddHocon(ClusterConfiguration.DefaultConfig(), HoconAddMode.Append);
        builder.WithActors((system, registry, resolver) =>
        {
            var set = AkkaHostingExtensions.BuildSet<TKey>(setName, options, resolver, includeManagerTasks);
            var started = system.StartClusterPeriodicTasks(set, options.StopOnCoordinatedShutdown);
            // Before the key: PeriodicTaskClient<TKey> waits for the key, then asks this actor for the managers.
            registry.Register<TaskSetManagers.Of<TKey>>(system.ActorOf(ClusterSetManagers.Props(started), PeriodicTaskManager.ActorName(setName) + "-managers"));
            registry.Register<TKey>(started.NodeTasks);
            if (started.ClusterTasks.TryGetValue("", out var proxy) || started.ClusterTasks.Count > 0)
                registry.Register<ClusterTasks<TKey>>(proxy ?? started.ClusterTasks.Values.First());
        });
        return builder;
    }
}
