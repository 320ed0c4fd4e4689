using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>The scope, role, misfire, cluster and state keys: read, validated, and errors that name the full path.</summary>
public class SettingsTests
{
    private static PeriodicTaskSettings Read(string hocon) =>
        PeriodicTaskSettings.Create(ConfigurationFactory.ParseString(hocon), null, ClusterConfiguration.Keys);

    /// <summary>The console host's keys, which the example node files use (Host.Tests validates them with the host itself).</summary>
    private static readonly ConfigKeys HostKeys =
        new("host", Config.Empty, ["assemblies"], ["command", "working-directory", "environment"]);

    private static PeriodicTaskSet OneTask() => new PeriodicTaskSet("set").Add("job", _ => { });

    private static PeriodicTaskConfigurationException Fails(Action action) => Assert.Throws<PeriodicTaskConfigurationException>(action);

    [Fact]
    public void Scope_role_and_misfire_are_read_from_a_task_entry()
    {
        var settings = Read("actor-scheduler.tasks.job { scope = cluster, role = backend, misfire = run-all, misfire-limit = 3 }");
        var options = settings.Resolve(OneTask())[0].Options;
        Assert.Equal(TaskScope.Cluster, options.Scope);
        Assert.Equal("backend", options.Role);
        Assert.Equal(MisfirePolicy.RunAll, options.Misfire);
        Assert.Equal(3, options.MisfireLimit);
    }

    [Fact]
    public void The_defaults_are_node_scope_and_coalesce()
    {
        var options = Read("").Resolve(OneTask())[0].Options;
        Assert.Equal(TaskScope.Node, options.Scope);
        Assert.Equal(MisfirePolicy.Coalesce, options.Misfire);
        Assert.Equal(StateStore.None, Read("").State.Store);
    }

    [Theory]
    [InlineData("actor-scheduler.tasks.job.misfire = later", "actor-scheduler.tasks.job.misfire")]
    [InlineData("actor-scheduler.tasks.job.misfire-limit = 0", "actor-scheduler.tasks.job.misfire-limit")]
    [InlineData("actor-scheduler.tasks.job.scope = everywhere", "actor-scheduler.tasks.job.scope")]
    [InlineData("actor-scheduler.cluster.distribution = everywhere", "actor-scheduler.cluster.distribution")]
    [InlineData("actor-scheduler.cluster.distributon = singleton", "actor-scheduler.cluster.distributon")]
    [InlineData("actor-scheduler.state.store = redis", "actor-scheduler.state.store")]
    [InlineData("actor-scheduler.state.snapshot-evry = 5", "actor-scheduler.state.snapshot-evry")]
    [InlineData("actor-scheduler.state { store = sql, connection-string = \"\" }", "actor-scheduler.state.connection-string")]
    [InlineData("actor-scheduler.state { store = sql, provider = \"\" }", "actor-scheduler.state.provider")]
    [InlineData("actor-scheduler.state.journal-plugin = \"akka.persistence.journal.inmem\"", "actor-scheduler.state.snapshot-plugin")]
    public void A_bad_value_is_an_error_naming_its_full_path(string hocon, string path) =>
        Assert.Equal(path, Fails(() => Read(hocon).Resolve(OneTask())).Path);

    [Fact]
    public void The_run_history_is_kept_in_a_sql_store_unless_run_history_is_off()
    {
        const string sqlite = "actor-scheduler.state { store = sql, provider = SQLite.MS, connection-string = \"Data Source=h.db\" }";
        Assert.True(Read(sqlite).State.RunHistory);
        Assert.NotNull(Persistence.RunHistoryTable.For(Read(sqlite).State, "set", "owner"));
        var off = Read(sqlite + "\nactor-scheduler.state.run-history = off").State;
        Assert.False(off.RunHistory);
        Assert.Null(Persistence.RunHistoryTable.For(off, "set", "owner"));
        Assert.Null(Persistence.RunHistoryTable.For(Read("").State, "set", "owner"));
        Assert.Equal("actor-scheduler.state.run-history", Fails(() => Read("actor-scheduler.state.run-history = sometimes")).Path);
    }

    [Fact]
    public void A_role_on_a_node_scoped_task_is_an_error()
    {
        var error = Fails(() => Read("actor-scheduler.tasks.job.role = backend").Resolve(OneTask()));
        Assert.Equal("actor-scheduler.tasks.job.role", error.Path);
    }

    [Fact]
    public void The_core_refuses_cluster_scope_and_sql_state_naming_the_package_that_has_them()
    {
        var scope = Fails(() => PeriodicTasks.Props(OneTask(), Read("actor-scheduler.tasks.job.scope = cluster")));
        Assert.Equal("actor-scheduler.tasks.job.scope", scope.Path);
        Assert.Contains("ActorScheduler.Cluster", scope.Message);
        var state = Fails(() => PeriodicTaskSettings.Create(ConfigurationFactory.ParseString("actor-scheduler.state.store = sql")));
        Assert.Equal("actor-scheduler.state", state.Path);
        Assert.Contains("ActorScheduler.Cluster", state.Message);
    }

    [Fact]
    public void The_cluster_keys_accept_cluster_scope_where_the_core_keys_alone_reject_it()
    {
        const string hocon = "actor-scheduler.tasks.job.scope = cluster";
        Assert.Equal(TaskScope.Cluster, Read(hocon).Resolve(OneTask())[0].Options.Scope);
        var error = Fails(() => PeriodicTaskSettings.Create(ConfigurationFactory.ParseString(hocon)));
        Assert.Equal("actor-scheduler.tasks.job.scope", error.Path);
        Assert.Contains("unknown key", error.Message);
    }

    [Fact]
    public void CreateSettings_reads_a_set_with_the_cluster_keys()
    {
        var config = ConfigurationFactory.ParseString("actor-scheduler.sets.set.tasks.job { scope = cluster, role = backend }");
        var options = ClusterConfiguration.CreateSettings(config, "set").Resolve(OneTask())[0].Options;
        Assert.Equal((TaskScope.Cluster, "backend"), (options.Scope, options.Role));
        Assert.Equal("actor-scheduler.sets.set.tasks.job.scope",
            Fails(() => PeriodicTaskSettings.Create(config, "set")).Path);
    }

    [Fact]
    public void A_misspelt_scope_is_an_error_naming_its_path_and_the_allowed_values()
    {
        var error = Fails(() => Read("actor-scheduler.tasks.job.scope = clustr"));
        Assert.Equal("actor-scheduler.tasks.job.scope", error.Path);
        Assert.Contains("use one of: node, cluster", error.Message);
    }

    [Fact]
    public void Sharded_distribution_is_read_with_its_shard_count()
    {
        var cluster = ClusterTaskSettings.Of(Read("actor-scheduler.cluster { distribution = Sharded, shards = 12 }"));
        Assert.Equal((TaskDistribution.Sharded, 12), (cluster.Distribution, cluster.Shards));
        Assert.Equal(TaskDistribution.Sharded, ClusterTaskSettings.Of(Read("actor-scheduler.cluster.distribution = sharded")).Distribution);
    }

    [Fact]
    public void The_default_distribution_is_singleton_and_the_default_shard_count_30()
    {
        var cluster = ClusterTaskSettings.Of(Read(""));
        Assert.Equal((TaskDistribution.Singleton, 30), (cluster.Distribution, cluster.Shards));
    }

    [Theory]
    [InlineData("actor-scheduler.cluster.shards = 0", "0 is not allowed; use an integer >= 1.")]
    [InlineData("actor-scheduler.cluster.shards = -3", "-3 is not allowed; use an integer >= 1.")]
    [InlineData("actor-scheduler.cluster.shards = many", "\"many\" is not a whole number; use an integer >= 1.")]
    [InlineData("actor-scheduler.cluster.shards = 2.5", "\"2.5\" is not a whole number; use an integer >= 1.")]
    public void A_shard_count_below_1_or_not_a_whole_number_is_an_error_naming_the_key(string hocon, string message)
    {
        var error = Fails(() => Read(hocon));
        Assert.Equal("actor-scheduler.cluster.shards", error.Path);
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("", "Membership")]
    [InlineData("actor-scheduler.state { store = sql, provider = \"SQLite.MS\", connection-string = \"Data Source=a.db\" }", "Database")]
    [InlineData("actor-scheduler.state { store = sql, provider = PostgreSQL, connection-string = \"Host=db\" }", "Database")]
    [InlineData("actor-scheduler.state { store = sql, provider = SqlServer.2019, connection-string = \"Server=db\" }", "Membership")]
    [InlineData("actor-scheduler.state { store = sql, journal-plugin = a, snapshot-plugin = b }", "Membership")]
    [InlineData("actor-scheduler.state { store = sql, provider = PostgreSQL, connection-string = \"Host=db\" }\nactor-scheduler.cluster.lease = off", "None")]
    [InlineData("actor-scheduler.cluster.lease = off", "None")]
    public void The_lease_is_in_a_SQLite_or_PostgreSQL_state_store_and_from_the_membership_otherwise(string hocon, string lease) =>
        Assert.Equal(lease, ClusterTaskSettings.Of(Read(hocon)).Lease.ToString());

    [Theory]
    [InlineData("", "on needs a state store to keep the lease in")]
    [InlineData("actor-scheduler.state { store = sql, provider = SqlServer.2019, connection-string = \"Server=db\" }", "on needs a SQLite or PostgreSQL state store (provider is \"SqlServer.2019\")")]
    public void Lease_on_where_it_cannot_be_kept_is_an_error_naming_the_key_and_what_is_missing(string hocon, string message)
    {
        var error = Fails(() => Read(hocon + "\nactor-scheduler.cluster.lease = on"));
        Assert.Equal("actor-scheduler.cluster.lease", error.Path);
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("shardd")]
    [InlineData("sharding")]
    [InlineData("everywhere")]
    public void An_unknown_distribution_is_an_error_naming_the_key_and_both_values(string value)
    {
        var error = Fails(() => Read($"actor-scheduler.cluster.distribution = {value}"));
        Assert.Equal("actor-scheduler.cluster.distribution", error.Path);
        Assert.Contains("use one of: singleton, sharded", error.Message);
    }

    [Fact]
    public void A_task_s_shard_bucket_is_a_stable_hash_of_its_name()
    {
        // Pinned: a bucket's saved state is found by its number, so the same name must land in the same bucket in every
        // process, every run and every version (string.GetHashCode would differ per process).
        Assert.Equal([BucketOfReport, BucketOfCleanup], new[] { TaskBuckets.Of("report", 30), TaskBuckets.Of("cleanup", 30) });
        Assert.Equal(0, TaskBuckets.Of("report", 1));
        var buckets = Enumerable.Range(0, 300).Select(i => TaskBuckets.Of($"task-{i}", 30)).ToList();
        Assert.All(buckets, b => Assert.InRange(b, 0, 29));
        Assert.Equal(30, buckets.Distinct().Count()); // 300 names reach every bucket
        Assert.InRange(buckets.GroupBy(b => b).Max(g => g.Count()), 10, 25);
        Assert.Equal("actor-scheduler/jobs/cluster/-/shard-12", ClusterPeriodicTasks.ShardPersistenceId("jobs", "", BucketOfReport));
        Assert.Equal("actor-scheduler/jobs/cluster/indexer/shard-0", ClusterPeriodicTasks.ShardPersistenceId("jobs", "indexer", 0));
    }

    private const int BucketOfReport = 12;
    private const int BucketOfCleanup = 20;

    [Fact]
    public void A_cluster_key_under_a_named_set_is_an_error_naming_its_path()
    {
        var error = Fails(() => PeriodicTaskSettings.Create(
            ConfigurationFactory.ParseString("actor-scheduler.sets.set.state.store = sql"), "set", ClusterConfiguration.Keys));
        Assert.Equal("actor-scheduler.sets.set.state", error.Path);
    }

    [Fact]
    public void The_cluster_reference_config_holds_the_cluster_keys_with_their_defaults()
    {
        var section = ClusterConfiguration.DefaultConfig().GetConfig("actor-scheduler");
        Assert.Equal(["cluster", "state"], section.Root.GetObject().Items.Keys.Order());
        Assert.Equal("singleton", section.GetString("cluster.distribution"));
        Assert.Equal(30, section.GetInt("cluster.shards"));
        Assert.Equal("none", section.GetString("state.store"));
        Assert.Equal(1000, section.GetInt("state.snapshot-every"));
    }

    [Fact]
    public void Cluster_scope_in_an_actor_system_without_a_cluster_is_an_error_naming_the_task()
    {
        using var system = ActorSystem.Create("no-cluster", ConfigurationFactory.ParseString(
            "akka.loglevel = WARNING\nactor-scheduler.tasks.job.scope = cluster"));
        var error = Fails(() => system.StartClusterPeriodicTasks(OneTask()));
        Assert.Equal("actor-scheduler.tasks.job.scope", error.Path);
        Assert.Contains("akka.actor.provider = cluster", error.Message);
    }

    [Fact]
    public void The_attribute_declares_scope_role_and_misfire()
    {
        var options = new PeriodicTaskAttribute { Scope = TaskScope.Cluster, Role = "backend", Misfire = MisfirePolicy.Skip }.ToOptions("X.M");
        Assert.Equal(TaskScope.Cluster, options.Scope);
        Assert.Equal("backend", options.Role);
        Assert.Equal(MisfirePolicy.Skip, options.Misfire);
    }

    [Fact]
    public void Hosting_options_write_scope_role_and_misfire_as_hocon()
    {
        var options = new ActorScheduler.Hosting.PeriodicTaskSetOptions();
        options.Tasks["job"] = new ActorScheduler.Hosting.TaskOptionsOverride
        {
            Scope = TaskScope.Cluster, Role = "backend", Misfire = MisfirePolicy.RunAll, MisfireLimit = 4,
        };
        var settings = PeriodicTaskSettings.Create(ConfigurationFactory.ParseString(options.ToHocon("set")), "set", ClusterConfiguration.Keys);
        var resolved = settings.Resolve(OneTask())[0].Options;
        Assert.Equal((TaskScope.Cluster, "backend", MisfirePolicy.RunAll, 4), (resolved.Scope, resolved.Role, resolved.Misfire, resolved.MisfireLimit));
    }

    [Theory]
    [InlineData("cluster.conf", 4053)]
    [InlineData("cluster/node-1.conf", 4053)]
    [InlineData("cluster/node-2.conf", 4054)]
    [InlineData("cluster/node-3.conf", 4055)]
    public void The_example_node_configurations_are_valid(string file, int port)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "hocon", "cluster.conf")))
            directory = directory.Parent;
        Assert.NotNull(directory);
        var config = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(directory.FullName, "hocon", file)));
        var settings = PeriodicTaskSettings.Create(config, null, ClusterConfiguration.Keys, HostKeys);
        Assert.Equal(StateStore.Sql, settings.State.Store);
        Assert.Contains(settings.Tasks, t => t.ApplyTo(PeriodicTaskOptions.Default).Scope == TaskScope.Cluster);
        Assert.Equal("cluster", config.GetString("akka.actor.provider"));
        Assert.Equal(port, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal("127.0.0.1", config.GetString("akka.remote.dot-netty.tcp.hostname"));
    }
}
