using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Hosting;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Coordination;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.DistributedData;
using Akka.Event;

namespace ActorScheduler.Cluster;

/// <summary>
/// The actors of one task set started by <see cref="ClusterPeriodicTasks.StartClusterPeriodicTasks(ActorSystem, PeriodicTaskSet, bool)"/>.
/// </summary>
/// <param name="NodeTasks">This node's node-scoped tasks: /user/periodic-tasks-NAME (a manager, or its schedule keeper).</param>
/// <param name="ClusterTasks">
/// By role ("" = any node): the actor through which this node reaches the cluster-scoped tasks of that role, the proxy
/// of their cluster singleton (distribution = singleton) or a local actor that asks their buckets through Akka.Cluster.Sharding
/// (distribution = sharded). Send it GetTaskStats, TriggerTask, ... from any node; it answers as one manager would.
/// </param>
public sealed record ClusterTaskSet(IActorRef NodeTasks, IReadOnlyDictionary<string, IActorRef> ClusterTasks)
{
    /// <summary>The cluster tasks are sharded (actor-scheduler.cluster.distribution = sharded).</summary>
    internal bool Sharded { get; init; }

    /// <summary>The system's <see cref="SetCensus"/> when the set runs in a cluster.</summary>
    internal IActorRef? Census { get; init; }

    /// <summary>This node's manager, then each role's cluster tasks (role "" first, then by name), with those roles.</summary>
    internal TaskSetManagers.Report Managers
    {
        get
        {
            var roles = ClusterTasks.Keys.Order(StringComparer.Ordinal).ToList();
            return new TaskSetManagers.Report([NodeTasks, .. roles.Select(r => ClusterTasks[r])], roles);
        }
    }

    /// <summary>
    /// <see cref="Managers"/>, unless this node's sets share no name with those of the oldest node that runs sets: then a
    /// <see cref="TaskSetNotReadyException"/> that names both (docs/cluster.md, "One set across the cluster").
    /// </summary>
    internal async Task<TaskSetManagers.Report> AgreedManagersAsync(CancellationToken cancellationToken)
    {
        if (Census is { } census)
        {
            var report = await census.Ask<SetCensus.SetsDifferReport>(SetCensus.SetsDiffer.Instance, TimeSpan.FromSeconds(3), cancellationToken)
                .ConfigureAwait(false);
            if (report.Conflict is { } conflict)
                throw new TaskSetNotReadyException(conflict + ".");
        }

        return Managers;
    }

    /// <summary>
    /// A client of the whole set: its stats merge this node's tasks and the cluster tasks of every role; pause,
    /// resume, trigger, update and remove go to the manager that has the task (a cluster task's through its
    /// singleton proxy, from any node), and an added cluster task to its role's. A query made before this node is Up,
    /// or during a hand-over, waits for the singleton within <paramref name="timeout"/>, then throws
    /// <see cref="TaskSetNotReadyException"/>.
    /// </summary>
    /// <param name="timeout">How long each call waits (default <see cref="PeriodicTaskClient.DefaultTimeout"/>).</param>
    public PeriodicTaskClient Client(TimeSpan? timeout = null)
    {
        return new PeriodicTaskClient(AgreedManagersAsync, timeout);
    }
}

/// <summary>
/// Starts task sets in which tasks may be node-scoped (every node runs them) or cluster-scoped (one node of the cluster,
/// of the task's role, runs each at a time: all of a role in Akka.Cluster.Tools' ClusterSingletonManager, reached through
/// ClusterSingletonProxy, or with actor-scheduler.cluster.distribution = sharded in buckets that Akka.Cluster.Sharding
/// spreads over the nodes), with each task's place in its schedule kept by Akka.Persistence when
/// actor-scheduler.state.store = sql.
/// </summary>
public static class ClusterPeriodicTasks
{
    /// <summary>
    /// Starts <paramref name="set"/> with settings from the system's configuration: node-scoped tasks at
    /// /user/periodic-tasks-NAME, and per role a singleton manager /user/periodic-tasks-NAME-cluster[-ROLE] (on nodes
    /// with that role) and its proxy /user/periodic-tasks-NAME-cluster[-ROLE]-proxy (on every node); with distribution =
    /// sharded, per role /user/periodic-tasks-NAME-cluster[-ROLE] reaches the role's buckets (on every node).
    /// </summary>
    /// <exception cref="PeriodicTaskConfigurationException">a configuration mistake, naming its path.</exception>
    public static ClusterTaskSet StartClusterPeriodicTasks(this ActorSystem system, PeriodicTaskSet set, bool stopOnCoordinatedShutdown = true)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(set);
        var settings = PeriodicTaskSettings.Create(system.Settings.Config, set.Name, ClusterConfiguration.Keys);
        return Start(system, system, "/user", set, settings, stopOnCoordinatedShutdown);
    }

    /// <summary>
    /// Starts <paramref name="set"/> as children of the calling actor (<paramref name="context"/>), so that its
    /// supervision strategy is where raise-on-error of node-scoped tasks lands: node-scoped tasks at
    /// PARENT/periodic-tasks-NAME, and per role a singleton manager PARENT/periodic-tasks-NAME-cluster[-ROLE] (on nodes
    /// with that role) with its proxy PARENT/periodic-tasks-NAME-cluster[-ROLE]-proxy (on every node); with distribution =
    /// sharded, per role PARENT/periodic-tasks-NAME-cluster[-ROLE] reaches the role's buckets. Every node must start the
    /// set under a parent at the same path. Without a cluster provider only node-scoped tasks are allowed.
    /// </summary>
    /// <param name="context">The parent actor's context: call from its constructor or PreStart.</param>
    /// <param name="set">The task set.</param>
    /// <param name="settings">The settings to use, read with <see cref="ClusterConfiguration.CreateSettings"/> (default: read from the
    /// system's configuration for the set).</param>
    /// <param name="stopOnCoordinatedShutdown">Also stop the node-scoped tasks gracefully in CoordinatedShutdown (the
    /// singleton always hands over gracefully when the node leaves).</param>
    /// <exception cref="PeriodicTaskConfigurationException">a configuration mistake, naming its path.</exception>
    public static ClusterTaskSet StartClusterPeriodicTasks(
        this IActorContext context, PeriodicTaskSet set, PeriodicTaskSettings? settings = null, bool stopOnCoordinatedShutdown = false)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(set);
        settings ??= PeriodicTaskSettings.Create(context.System.Settings.Config, set.Name, ClusterConfiguration.Keys);
        return Start(context.System, context, context.Self.Path.ToStringWithoutAddress(), set, settings, stopOnCoordinatedShutdown);
    }

    /// <summary>
    /// Props of one local manager of all of <paramref name="set"/>'s tasks, whatever their scope, with nothing
    /// persisted: for running a task by hand on this node (the console host's run-once), never for scheduling.
    /// </summary>
    internal static Props LocalManagerProps(PeriodicTaskSet set, PeriodicTaskSettings settings, bool withTicker = false)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(settings);
        return PeriodicTaskManager.Props(set.Name, settings.Resolve(set), settings, withTicker);
    }

    /// <summary>
    /// Cluster-scoped tasks need an ActorSystem with akka.actor.provider = cluster, and a role must be a valid name: a
    /// <see cref="PeriodicTaskConfigurationException"/> naming the task's scope or role key otherwise.
    /// </summary>
    internal static void CheckClusterTasks(PeriodicTaskSettings settings, IReadOnlyList<PeriodicTaskDefinition> clusterTasks, bool clustered)
    {
        if (clusterTasks.Count > 0 && !clustered)
            throw new PeriodicTaskConfigurationException(
                $"{settings.Path}.tasks.{clusterTasks[0].Name}.scope",
                "cluster needs an Akka.NET cluster: set akka.actor.provider = cluster (see hocon/cluster.conf), or use scope = node.");
        foreach (var task in clusterTasks)
            if (task.Options.Role.Length > 0 && !ActorPath.IsValidPathElement(task.Options.Role))
                throw new PeriodicTaskConfigurationException(
                    $"{settings.Path}.tasks.{task.Name}.role", $"\"{task.Options.Role}\" is not a valid cluster role name.");
    }

    /// <summary>True when <paramref name="system"/> runs Akka.Cluster's actor-ref provider.</summary>
    internal static bool IsClustered(ActorSystem system) => system is ExtendedActorSystem { Provider: Akka.Cluster.ClusterActorRefProvider };

    private static ClusterTaskSet Start(
        ActorSystem system, IActorRefFactory factory, string parentPath, PeriodicTaskSet set, PeriodicTaskSettings settings,
        bool stopOnCoordinatedShutdown)
    {
        var start = SetStart.Now(system); // node-scoped ticks count from this call (see SetStart)
        var tasks = settings.Resolve(set);
        var clusterTasks = tasks.Where(t => t.Options.Scope == TaskScope.Cluster).ToList();
        var nodeTasks = tasks.Where(t => t.Options.Scope == TaskScope.Node).ToList();

        var clustered = IsClustered(system);
        CheckClusterTasks(settings, clusterTasks, clustered);

        var persistent = settings.State.Store == StateStore.Sql;
        var plugins = persistent ? StatePlugins.Ensure(system, settings.State) : default;
        if (clustered)
            StateSerialization.Register(system);
        if (clustered && !persistent && clusterTasks.Count > 0)
            DistributedData.Get(system); // every node runs a replicator for the places the owners share (SharedPlaces)

        var nodeProps = persistent
            ? ScheduleKeeper.ManagerProps(NodePersistenceId(system, set.Name, settings.State), set.Name, nodeTasks, settings, plugins.Journal, plugins.Snapshot, start: start)
            : PeriodicTaskManager.Props(set.Name, nodeTasks, settings, withTicker: true, store: null, start);
        var node = PeriodicTasks.Start(system, factory, set.Name, nodeProps, settings.ShutdownTimeout, stopOnCoordinatedShutdown);

        var cluster = ClusterTaskSettings.Of(settings);
        var leasePath = clustered && clusterTasks.Count > 0 ? LeasePath(system.Settings.Config, cluster.Lease) : null;
        if (clustered && clusterTasks.Count > 0 && cluster.Lease == LeaseKind.Membership && leasePath is null)
            system.Log.Info(
                "actor-scheduler.cluster.lease: no lease without a state store under this downing provider or strategy; " +
                "akka.cluster.down-removal-margin keeps a downed owner's runs apart from its successor's (docs/cluster.md, \"Never two runs of one cluster task\")");
        if (leasePath is not null && !system.Settings.Config.HasPath(leasePath))
            system.Settings.InjectTopLevelFallback(ClusterConfiguration.DefaultConfig()); // the lease's section, for the plain API
        var sharded = cluster.Distribution == TaskDistribution.Sharded;
        var proxies = new Dictionary<string, IActorRef>(StringComparer.Ordinal);
        if (clusterTasks.Count > 0)
        {
            var selfRoles = Akka.Cluster.Cluster.Get(system).SelfRoles;
            foreach (var group in clusterTasks.GroupBy(t => t.Options.Role))
            {
                var role = group.Key;
                var name = SingletonManagerName(set.Name, role);
                var roleTasks = group.ToList();
                var hosts = role.Length == 0 || selfRoles.Contains(role);
                if (sharded)
                {
                    var spec = ShardedRoleOf(system, set.Name, settings, cluster.Shards, role, roleTasks, persistent ? plugins : null, hosts, leasePath);
                    proxies[role] = factory.ActorOf(ShardedTasks.Props(spec), name);
                    continue;
                }

                // The name ClusterSingletonManager gives its lease: "<system>-singleton-<its own path>".
                var leaseName = $"{system.Name}-singleton-akka://{system.Name}{parentPath}/{name}";
                var singleton = TaskSetHost.Props(
                    persistent
                        ? ScheduleKeeper.ManagerProps(ClusterPersistenceId(set.Name, role), set.Name, roleTasks, settings, plugins.Journal, plugins.Snapshot,
                            scope: TaskScope.Cluster, lease: (leaseName, leasePath))
                        : PeriodicTaskManager.Props(set.Name, roleTasks, settings, withTicker: true,
                            SharedPlaces.Props(ClusterPersistenceId(set.Name, role), set.Name, roleTasks), scope: TaskScope.Cluster),
                    persistent);
                if (hosts)
                {
                    var managerSettings = ClusterSingletonManagerSettings.Create(system)
                        .WithSingletonName("tasks")
                        .WithRole(role.Length == 0 ? null : role);
                    if (leasePath is not null) // the lease, not down-removal-margin, keeps a downed owner's runs apart from the new owner's
                        managerSettings = managerSettings.WithLeaseSettings(new LeaseUsageSettings(leasePath, LeaseRetryInterval))
                            .WithRemovalMargin(LeasedRemovalMargin);
                    factory.ActorOf(ClusterSingletonManager.Props(singleton, HandOver.Instance, managerSettings), name);
                }

                var proxySettings = ClusterSingletonProxySettings.Create(system)
                    .WithSingletonName("tasks")
                    .WithRole(role.Length == 0 ? null : role);
                proxies[role] = factory.ActorOf(ClusterSingletonProxy.Props(parentPath + "/" + name, proxySettings), name + "-proxy");
            }
        }

        IActorRef? census = null;
        if (clustered)
        {
            census = SetCensus.Of(system);
            census.Tell(new SetCensus.Register(new SetSignature(
                set.Name, clusterTasks.Select(t => t.Options.Role + "/" + t.Name).Order(StringComparer.Ordinal).ToList())));
        }

        return new ClusterTaskSet(node, proxies) { Sharded = sharded && proxies.Count > 0, Census = census };
    }

    /// <summary>
    /// How one role's cluster tasks are sharded: split into buckets, each bucket's entity a <see cref="TaskSetHost"/>
    /// around a manager (or a schedule keeper) of its tasks, ticked by Akka's scheduler unless tick-source says otherwise.
    /// </summary>
    private static ShardedRole ShardedRoleOf(
        ActorSystem system, string setName, PeriodicTaskSettings settings, int shards, string role,
        IReadOnlyList<PeriodicTaskDefinition> roleTasks, (string Journal, string Snapshot)? plugins, bool hosts, string? leasePath)
    {
        var typeName = SingletonManagerName(setName, role);
        var buckets = TaskBuckets.Split(roleTasks, shards);
        var bucketSettings = settings.TickSource == TickSource.Auto ? settings.WithTickSource(TickSource.Scheduler) : settings;

        Props Bucket(string entityId)
        {
            var bucket = TaskBuckets.FromEntityId(entityId);
            var tasks = buckets.TryGetValue(bucket, out var own) ? own : [];
            var set = plugins is { } p
                ? ScheduleKeeper.ManagerProps(ShardPersistenceId(setName, role, bucket), setName, tasks, bucketSettings, p.Journal, p.Snapshot,
                    scope: TaskScope.Cluster, lease: ($"{system.Name}-shard-{typeName}-{entityId}", leasePath)) // the name Shard gives its lease (shard id = entity id)
                : PeriodicTaskManager.Props(setName, tasks, bucketSettings, withTicker: true,
                    SharedPlaces.Props(ShardPersistenceId(setName, role, bucket), setName, tasks), scope: TaskScope.Cluster);
            return TaskSetHost.Props(set, plugins is not null, $"{setName}/cluster/{(role.Length == 0 ? "-" : role)}/shard-{bucket}");
        }

        ClusterSharding.Get(system); // adds akka.cluster.sharding's defaults to the system's configuration
        return new ShardedRole(
            setName, role, typeName, shards, buckets.Keys.ToList(), plugins is null ? null : BucketTable.For(settings.State, setName, role),
            roleTasks.Select(t => t.Name).ToList(),
            hosts, Bucket, ShardingSettings(system, role, settings.ShutdownTimeout, leasePath), AllocationStrategy(shards));
    }

    /// <summary>The configuration of the lease the singleton and the buckets hold with a state store (cluster-reference.conf).</summary>
    internal const string LeaseConfigPath = "akka.coordination.lease.actor-scheduler";

    /// <summary>The configuration of the lease they hold without one (<see cref="Coordination.MembershipLease"/>).</summary>
    internal const string MembershipLeaseConfigPath = "akka.coordination.lease.actor-scheduler-membership";

    /// <summary>
    /// The configuration path of the lease the singleton and the buckets hold under <paramref name="config"/>, or null for
    /// none: the membership lease only under a split brain resolver whose rule it knows.
    /// </summary>
    internal static string? LeasePath(Akka.Configuration.Config config, LeaseKind kind) => kind switch
    {
        LeaseKind.Database => LeaseConfigPath,
        LeaseKind.Membership when Coordination.ResolverSide.Read(config) is not null => MembershipLeaseConfigPath,
        _ => null,
    };

    /// <summary>
    /// The singleton's down-removal-margin with the lease: as good as none (zero would mean akka.cluster's margin), since
    /// the lease, not the margin, keeps a downed owner's runs apart from its successor's.
    /// </summary>
    internal static readonly TimeSpan LeasedRemovalMargin = TimeSpan.FromMilliseconds(1);

    /// <summary>How soon a singleton or a bucket that did not get its lease (its last owner's has not expired yet) asks again (akka's default: 5 s).</summary>
    internal static readonly TimeSpan LeaseRetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often the shard coordinator checks the balance of buckets over the nodes (akka's default: 10 s).</summary>
    internal static readonly TimeSpan RebalanceInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often a region asks a coordinator that moved (after its node was removed) to register it, and retries asking
    /// for a bucket's place (akka's default: 2 s): a bucket of a removed node starts again that much sooner.
    /// </summary>
    internal static readonly TimeSpan RegionRetryInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The region's settings: akka.cluster.sharding's, with the role, no passivation and no remembered entities (every
    /// bucket is kept alive by <see cref="BucketStarter"/>), the coordinator's state in distributed data (no journal),
    /// shorter rebalance and retry intervals, and a hand-off timeout that leaves a bucket its graceful stop.
    /// </summary>
    internal static ClusterShardingSettings ShardingSettings(ActorSystem system, string role, TimeSpan shutdownTimeout, string? leasePath = null)
    {
        var settings = ClusterShardingSettings.Create(system);
        var tuning = settings.TuningParameters;
        var handOff = shutdownTimeout + TimeSpan.FromSeconds(15);
        tuning = tuning.WithRebalanceInterval(RebalanceInterval)
            .WithRetryInterval(RegionRetryInterval)
            .WithHandOffTimeout(tuning.HandOffTimeout > handOff ? tuning.HandOffTimeout : handOff);
        if (leasePath is not null)
            settings = settings.WithLeaseSettings(new LeaseUsageSettings(leasePath, LeaseRetryInterval));
        return settings
            .WithRole(role.Length == 0 ? null : role)
            .WithRememberEntities(false)
            .WithPassivateIdleAfter(TimeSpan.Zero)
            .WithStateStoreMode(StateStoreMode.DData)
            .WithTuningParameters(tuning);
    }

    /// <summary>Akka's least-shard allocation, allowed to move up to half of the buckets in one rebalance round.</summary>
    internal static IShardAllocationStrategy AllocationStrategy(int shards) =>
        ShardAllocationStrategy.LeastShardAllocationStrategy(absoluteLimit: shards, relativeLimit: 0.5);

    /// <summary>The name of the singleton manager of a set's cluster-scoped tasks of <paramref name="role"/>.</summary>
    internal static string SingletonManagerName(string setName, string role) =>
        PeriodicTasks.ActorName(setName) + "-cluster" + (role.Length == 0 ? "" : "-" + role);

    /// <summary>The persistence id of a set's cluster-scoped tasks of <paramref name="role"/>: the same on every node.</summary>
    internal static string ClusterPersistenceId(string setName, string role) =>
        $"actor-scheduler/{setName}/cluster/{(role.Length == 0 ? "-" : role)}";

    /// <summary>
    /// With distribution = sharded, the persistence id of bucket <paramref name="bucket"/> of a set's cluster-scoped tasks
    /// of <paramref name="role"/>: the same on every node, so the bucket's place in the schedule moves with it.
    /// </summary>
    internal static string ShardPersistenceId(string setName, string role, int bucket) =>
        $"{ClusterPersistenceId(setName, role)}/shard-{bucket.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The persistence id of this node's node-scoped tasks (state.node-id, else host:port, else "local").</summary>
    internal static string NodePersistenceId(ActorSystem system, string setName, StateSettings state)
    {
        var id = state.NodeId;
        if (id.Length == 0)
        {
            var address = ((ExtendedActorSystem)system).Provider.DefaultAddress;
            id = address.Host is { } host && address.Port is { } port ? $"{host}:{port}" : "local";
        }

        return $"actor-scheduler/{setName}/node/{id}";
    }
}
