using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// Cluster tasks added at run time: by type, to the role the task names, and with distribution = sharded to the bucket
/// of its name, which a state store keeps (with the addition) for every node that starts the bucket later.
/// </summary>
public sealed class ClusterAdditionsTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private readonly StateBackend _backend = StateBackend.Sqlite();

    private static PeriodicTaskOptions Cluster(TimeSpan spacing, string role = "") =>
        new() { Scope = TaskScope.Cluster, Role = role, Spacing = spacing, RunImmediately = true };

    [Fact]
    public async Task A_sharded_task_added_by_type_runs_in_a_bucket_that_had_no_task_answers_through_every_node_and_comes_back_after_the_whole_cluster_restarts()
    {
        const int shards = 6;
        const string setName = "sharded-additions";
        // The set defines one task; the added one hashes to another bucket, which no node would start without the addition.
        var added = Enumerable.Range(0, 100).Select(i => $"added-{i}").First(n => TaskBuckets.Of(n, shards) != TaskBuckets.Of("anchor", shards));
        PeriodicTaskSet Set() => new PeriodicTaskSet(setName).Add("anchor", (_, _) => ValueTask.CompletedTask, Cluster(TimeSpan.FromMilliseconds(300)));

        using (var cluster = new TestCluster(ShardedClusterTests.Hocon(shards, _backend.Hocon)))
        {
            await cluster.FormAsync(0, 1, 2);
            var sets = Enumerable.Range(0, 3).Select(i => cluster[i].StartClusterPeriodicTasks(Set())).ToList();
            var first = sets[0].Client(TimeSpan.FromSeconds(10));
            await TestCluster.WaitUntilAsync(() => first.GetTaskAsync("anchor").Result.Runs > 0, Wait, "the set's own task runs");

            var changed = await first.AddAsync<CountingTask>(added, Cluster(TimeSpan.FromMilliseconds(300)));
            Assert.Equal([added], changed.Added);
            await TestCluster.WaitUntilAsync(() => CountingTask.Runs($"{setName}/{added}") > 0, Wait, "the added task runs");

            // Another node learns of the bucket from the state store's database: it finds the task, and changes it.
            var third = sets[2].Client(TimeSpan.FromSeconds(10));
            var updated = await third.UpdateAsync(added, Cluster(TimeSpan.FromMilliseconds(400)));
            Assert.Equal([added], updated.Updated);
            await TestCluster.WaitUntilAsync(
                () => third.GetStatsAsync().Result.Tasks.Select(t => t.Task).Order().SequenceEqual([added, "anchor"]),
                TimeSpan.FromSeconds(30), "the added task in the stats of another node");
            await sets[1].ClusterTasks[""].Ask<StateFlushed>(FlushState.Instance, TimeSpan.FromSeconds(10)); // every bucket's journal is written
        }

        // A new cluster from the same definition and database: the bucket is started again, and the addition with its update is back.
        using var restarted = new TestCluster(ShardedClusterTests.Hocon(shards, _backend.Hocon));
        await restarted.FormAsync(0, 1, 2);
        var again = Enumerable.Range(0, 3).Select(i => restarted[i].StartClusterPeriodicTasks(Set())).ToList();
        var runs = CountingTask.Runs($"{setName}/{added}");
        await TestCluster.WaitUntilAsync(() => CountingTask.Runs($"{setName}/{added}") > runs, Wait, "the added task runs after the restart");
        var client = again[1].Client(TimeSpan.FromSeconds(10));
        Assert.Equal(Cluster(TimeSpan.FromMilliseconds(400)).DescribeSchedule(TimeSpan.FromMilliseconds(100)), (await client.GetTaskAsync(added)).Schedule);
        Assert.Equal([added], (await client.RemoveAsync(added)).Removed);
        Assert.DoesNotContain(added, (await client.GetStatsAsync()).Tasks.Select(t => t.Task));
    }

    [Fact]
    public async Task A_node_that_cannot_read_the_listed_buckets_warns_once_and_answers_with_the_buckets_it_knows()
    {
        const int shards = 6;
        var added = Enumerable.Range(0, 100).Select(i => $"listed-{i}").First(n => TaskBuckets.Of(n, shards) != TaskBuckets.Of("anchor", shards));
        using var cluster = new TestCluster(ShardedClusterTests.Hocon(shards, _backend.Hocon));
        await cluster.FormAsync(0);
        var set = cluster[0].StartClusterPeriodicTasks(new PeriodicTaskSet("unlisted")
            .Add("anchor", (_, _) => ValueTask.CompletedTask, Cluster(TimeSpan.FromSeconds(1))));
        var client = set.Client(TimeSpan.FromSeconds(10));
        await client.AddAsync<CountingTask>(added, Cluster(TimeSpan.FromSeconds(1)));

        await ExecuteAsync("DROP TABLE actor_scheduler_buckets"); // every read fails from now on
        Assert.Equal(["anchor", added], (await client.GetStatsAsync()).Tasks.Select(t => t.Task).Order());
        await TestCluster.WaitUntilAsync(() => cluster.Warnings.Any(w => w.Message.Contains("could not be read from the SQLite database")),
            TimeSpan.FromSeconds(30), "a warning that the table cannot be read");
        await Task.Delay(ShardedTasks.ReadAddedEvery * 1.5); // a periodic read more, and stats answered without reading
        Assert.Equal(["anchor", added], (await client.GetStatsAsync()).Tasks.Select(t => t.Task).Order());
        Assert.Single(cluster.Warnings, w => w.Message.Contains("could not be read"));
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(_backend.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_sharded_addition_is_refused_saying_why_without_a_state_store_with_a_delegate_body_and_for_another_role()
    {
        using var cluster = new TestCluster(ShardedClusterTests.Hocon(6));
        await cluster.FormAsync(0);
        var set = cluster[0].StartClusterPeriodicTasks(new PeriodicTaskSet("refusals")
            .Add("anchor", (_, _) => ValueTask.CompletedTask, Cluster(TimeSpan.FromSeconds(1))));
        var client = set.Client(TimeSpan.FromSeconds(10));

        var noStore = await Assert.ThrowsAsync<ArgumentException>(() => client.AddAsync<CountingTask>("typed", Cluster(TimeSpan.FromSeconds(1))));
        Assert.Contains("'typed': with distribution = sharded, cluster tasks can be added at run time only with a state store", noStore.Message);
        var withDelegate = await Assert.ThrowsAsync<ArgumentException>(
            () => client.AddAsync("delegate", (_, _) => ValueTask.CompletedTask, Cluster(TimeSpan.FromSeconds(1))));
        Assert.Contains("'delegate': with distribution = sharded, a body given as a delegate cannot be added", withDelegate.Message);
        var otherRole = await Assert.ThrowsAsync<ArgumentException>(
            () => client.AddAsync<CountingTask>("elsewhere", Cluster(TimeSpan.FromSeconds(1), role: "worker")));
        Assert.Contains("task 'elsewhere': the set has no cluster tasks of role \"worker\"", otherRole.Message);
        Assert.Contains("it has tasks without a role", otherRole.Message);
        var direct = await Assert.ThrowsAsync<PeriodicTaskDefinitionException>(() => set.ClusterTasks[""].Ask<TasksChanged>(
            new ChangeTasks(AddTask.Of<CountingTask>("elsewhere", Cluster(TimeSpan.FromSeconds(1), role: "worker"))), TimeSpan.FromSeconds(10)));
        Assert.Contains("these sharded cluster tasks are of no role", direct.Message);
        Assert.Equal(["anchor"], (await client.GetStatsAsync()).Tasks.Select(t => t.Task));
    }

    [Fact]
    public async Task A_cluster_task_added_at_run_time_goes_to_the_singleton_of_its_role()
    {
        var hocon = """
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 100ms
              shutdown-timeout = 1s
            }
            """;
        PeriodicTaskSet Set() => new PeriodicTaskSet("roles")
            .Add("report", (_, _) => ValueTask.CompletedTask, Cluster(TimeSpan.FromSeconds(1)))
            .Add("index", (_, _) => ValueTask.CompletedTask, Cluster(TimeSpan.FromSeconds(1), role: "worker"));
        using var cluster = new TestCluster(hocon);
        await cluster.FormAsync(i => i == 0 ? "" : "akka.cluster.roles = [worker]", 0, 1); // node 0 is not a worker
        var sets = Enumerable.Range(0, 2).Select(i => cluster[i].StartClusterPeriodicTasks(Set())).ToList();
        var client = sets[0].Client(TimeSpan.FromSeconds(10));

        Assert.Equal(["index-2"], (await client.AddAsync<CountingTask>("index-2", Cluster(TimeSpan.FromMilliseconds(200), role: "worker"))).Added);
        Assert.Equal(["report-2"], (await client.AddAsync<CountingTask>("report-2", Cluster(TimeSpan.FromMilliseconds(200)))).Added);
        await TestCluster.WaitUntilAsync(() => CountingTask.Runs("roles/index-2") > 0 && CountingTask.Runs("roles/report-2") > 0, Wait, "both added tasks run");
        var worker = await sets[0].ClusterTasks["worker"].Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(["index", "index-2"], worker.Tasks.Select(t => t.Task));
        Assert.Contains(cluster.Events, e => e.Node == 1 && e.Event is PeriodicTaskStarted { Task: "index-2" });
        Assert.DoesNotContain(cluster.Events, e => e.Node == 0 && e.Event is PeriodicTaskStarted { Task: "index-2" });

        var unknownRole = await Assert.ThrowsAsync<ArgumentException>(() => client.AddAsync<CountingTask>("x", Cluster(TimeSpan.FromSeconds(1), role: "nope")));
        Assert.Contains("the set has no cluster tasks of role \"nope\"", unknownRole.Message);
        Assert.Contains("it has tasks without a role, role \"worker\"", unknownRole.Message);
    }

    public void Dispose() => _backend.Dispose();
}
