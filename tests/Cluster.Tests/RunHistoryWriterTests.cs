using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>The run history's writer under Akka's TestScheduler (SQLite): its sweeps, writes gathered, turns taken, a failed write, a failed query.</summary>
public sealed class RunHistoryWriterTests : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly StateBackend _backend = StateBackend.Sqlite();

    public RunHistoryWriterTests()
        : base("""akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit" """)
    {
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    [Fact]
    public async Task Each_minute_a_sweep_keeps_keep_runs_of_each_task_written_and_deletes_runs_older_than_keep_for()
    {
        var table = Table(_backend.ConnectionString);
        var writer = Sys.ActorOf(RunHistoryWriter.Props(table, new RunHistorySettings(KeepRuns: 2, KeepFor: TimeSpan.FromDays(1)), []));
        var now = Scheduler.Now;
        for (var i = 0; i < 5; i++)
            writer.Tell(Ended("a", i, now - TimeSpan.FromMinutes(10 - i)));
        writer.Tell(Ended("old", 0, now - TimeSpan.FromDays(2)));
        await writer.Ask<StateFlushed>(FlushState.Instance, Wait); // answered once the runs before it are written
        Assert.Equal(5, (await AllAsync(table, "a")).Count); // the sweep at start began before they were written
        Assert.Empty((await writer.Ask<RunsPage>(new GetRuns("old"), Wait)).Runs); // older than keep-for: never shown

        Scheduler.Advance(RunHistorySweep.SweepEvery);
        await WaitUntilAsync(async () => (await AllAsync(table, "a")).Count == 2 && (await AllAsync(table, "old")).Count == 0,
            "the sweep a minute later: two runs of a left, none of old");
        Assert.Equal([4L, 3], (await writer.Ask<RunsPage>(new GetRuns("a"), Wait)).Runs.Select(r => r.Tick));
    }

    [Fact]
    public async Task Runs_are_gathered_for_a_second_before_a_write_unless_a_query_waits_for_them()
    {
        var table = Table(_backend.ConnectionString);
        var writer = Sys.ActorOf(RunHistoryWriter.Props(table, RunHistorySettings.Default, []));
        var now = Scheduler.Now;
        writer.Tell(Ended("a", 0, now));
        await WaitUntilAsync(async () => (await AllAsync(table, "a")).Count == 1, "the first run written at once");
        writer.Tell(Ended("a", 1, now + TimeSpan.FromMilliseconds(1)));
        writer.Tell(Ended("a", 2, now + TimeSpan.FromMilliseconds(2)));
        await Task.Delay(500); // the virtual clock stands still: the gathering second has not passed
        Assert.Single(await AllAsync(table, "a"));

        Scheduler.Advance(RunHistoryWriter.GatherFor);
        await WaitUntilAsync(async () => (await AllAsync(table, "a")).Count == 3, "the two runs written once the second passed");
        writer.Tell(Ended("a", 3, now + TimeSpan.FromMilliseconds(3)));
        Assert.Equal([3L, 2, 1, 0], (await writer.Ask<RunsPage>(new GetRuns("a"), Wait)).Runs.Select(r => r.Tick)); // the query did not wait
    }

    [Fact]
    public async Task Taking_turns_each_call_waits_for_the_keepers_grant_and_a_write_goes_in_turns_of_at_most_1000_runs_sorted_by_task()
    {
        var table = Table(_backend.ConnectionString);
        var writer = ChildActorOf(RunHistoryWriter.Props(table, RunHistorySettings.Default, [], takesTurns: true)); // this test is the keeper
        var now = Scheduler.Now;
        for (var i = 0; i < 2_500; i++)
            writer.Tell(Ended("t" + (i % 10), i / 10, now + TimeSpan.FromMilliseconds(i)));
        ExpectMsg<HistoryTurnWanted>(Wait);
        await Task.Delay(300); // no grant yet: nothing is written, and the writer asks only once
        Assert.Equal(0, await CountAsync(table));
        ExpectNoMsg(TimeSpan.Zero);

        var written = new List<long>();
        var tasksAfterFirstWrite = -1;
        writer.Tell(HistoryTurnGranted.Instance);
        while (true)
        {
            ExpectMsg<HistoryTurnDone>(Wait);
            written.Add(await CountAsync(table));
            if (tasksAfterFirstWrite < 0 && written[^1] > 0)
                tasksAfterFirstWrite = await TasksWithRunsAsync(table);
            if (written[^1] == 2_500)
                break;
            Scheduler.Advance(RunHistoryWriter.GatherFor); // runs that came after a write started are due a second later
            ExpectMsg<HistoryTurnWanted>(Wait); // each call asks again
            writer.Tell(HistoryTurnGranted.Instance);
        }

        var writes = written.Zip(written.Prepend(0), (after, before) => after - before).Where(n => n > 0).ToList();
        Assert.All(writes, n => Assert.InRange(n, 1, RunHistoryWriter.MaxRunsPerTurn));
        Assert.True(tasksAfterFirstWrite < 10, $"the first turn's runs, sorted by task, are of a few tasks, not of all ten ({tasksAfterFirstWrite})");
    }

    [Fact]
    public async Task A_removed_tasks_runs_are_deleted_and_a_task_of_that_name_added_afterwards_keeps_its_own()
    {
        var table = Table(_backend.ConnectionString);
        var writer = Sys.ActorOf(RunHistoryWriter.Props(table, RunHistorySettings.Default, ["gone", "kept"]));
        var removedAt = Scheduler.Now;
        writer.Tell(Ended("gone", 0, removedAt - TimeSpan.FromMinutes(2)));
        writer.Tell(Ended("gone", 1, removedAt - TimeSpan.FromMinutes(1)));
        writer.Tell(Ended("kept", 0, removedAt - TimeSpan.FromMinutes(1)));
        writer.Tell(new KeeperStore.TasksChangedHere([new TaskChangeReport("gone", TaskChangeKind.Remove, null, Keep: true)]));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        writer.Tell(Ended("gone", 0, Scheduler.Now)); // added again, its first run
        await writer.Ask<StateFlushed>(FlushState.Instance, Wait);

        await WaitUntilAsync(async () => (await AllAsync(table, "gone")).All(r => r.StartedAt > removedAt), "the removed task's runs deleted");
        Assert.Equal([Scheduler.Now], (await AllAsync(table, "gone")).Select(r => r.StartedAt));
        Assert.Single(await AllAsync(table, "kept"));
    }

    [Fact]
    public async Task A_failed_write_is_logged_and_tried_again_after_a_second_with_its_runs()
    {
        var directory = Path.Combine(Path.GetTempPath(), "actor-scheduler-tests-" + Guid.NewGuid().ToString("N")); // not there yet
        try
        {
            var warnings = CreateTestProbe();
            Sys.EventStream.Subscribe(warnings, typeof(Akka.Event.Warning));
            var writer = Sys.ActorOf(RunHistoryWriter.Props(Table($"Data Source={Path.Combine(directory, "state.db")}"), RunHistorySettings.Default, []));
            var now = Scheduler.Now;
            writer.Tell(Ended("a", 0, now));
            writer.Tell(Ended("a", 1, now + TimeSpan.FromSeconds(1)));
            var warning = warnings.FishForMessage<Akka.Event.Warning>(w => w.Message.ToString()!.Contains("not written to the run history"), Wait);
            Assert.Contains($"2 runs not written to the run history in the SQLite database (Data Source={directory}", warning.Message.ToString());

            Directory.CreateDirectory(directory);
            Scheduler.Advance(RunHistoryWriter.RetryAfter);
            await WaitUntilAsync(async () => (await writer.Ask<RunsPage>(new GetRuns("a"), Wait)).Runs.Count == 2, "both runs written on the retry");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_failed_query_answers_a_failure_naming_the_database_without_its_password_and_the_cause()
    {
        var database = StateDatabase.Create(
            "PostgreSQL", "Host=127.0.0.1;Port=1;Database=history;Username=u;Password=s3cret-pw;Timeout=3", TimeSpan.FromSeconds(5), "the test");
        var writer = Sys.ActorOf(RunHistoryWriter.Props(new RunHistoryTable(database, "jobs", "owner"), RunHistorySettings.Default, []));
        foreach (var query in new object[] { new GetRuns("a"), new GetRunCounts(Scheduler.Now.AddHours(-1)) })
        {
            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => writer.Ask<object>(query, Wait));
            Assert.StartsWith("the run history of task set 'jobs' could not be read from the PostgreSQL database (Host=127.0.0.1;Port=1;", failure.Message);
            Assert.DoesNotContain("s3cret-pw", failure.Message);
            Assert.Contains("): Failed to connect to 127.0.0.1:1", failure.Message);
        }
    }

    private static RunHistoryTable Table(string connectionString) =>
        new(StateDatabase.Create("SQLite.MS", connectionString, TimeSpan.FromSeconds(30), "the test"), "jobs", "test/jobs");

    private static KeeperStore.RunEndedHere Ended(string task, long tick, DateTimeOffset startedAt) =>
        new(task, startedAt, RunHistoryScenarios.Run(task, tick, startedAt, "succeeded").Run, null!);

    private static async Task<long> CountAsync(RunHistoryTable table)
    {
        long count = 0;
        for (var t = 0; t < 10; t++)
            count += (await AllAsync(table, "t" + t)).Count;
        return count;
    }

    private static async Task<int> TasksWithRunsAsync(RunHistoryTable table)
    {
        var tasks = 0;
        for (var t = 0; t < 10; t++)
            tasks += (await AllAsync(table, "t" + t)).Count > 0 ? 1 : 0;
        return tasks;
    }

    private static async Task<IReadOnlyList<PeriodicTaskRun>> AllAsync(RunHistoryTable table, string task) =>
        (await table.PageAsync(new GetRuns(task, Limit: GetRuns.MaxLimit), DateTimeOffset.MinValue, int.MaxValue)).Runs;

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {Wait.TotalSeconds:F0} s waiting for: {what}");
            await Task.Delay(50);
        }
    }

    void IDisposable.Dispose()
    {
        _backend.Dispose();
        Dispose();
    }
}

/// <summary>The run history queries through a cluster singleton's proxy and a role's sharded buckets.</summary>
public sealed class ClusterRunHistoryTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly StateBackend _backend = StateBackend.Sqlite();

    [Fact]
    public async Task A_client_on_another_node_pages_a_singletons_runs_and_sums_its_counts_with_its_own_nodes()
    {
        using var cluster = new TestCluster(ClusterClientTests.Hocon);
        await cluster.FormAsync(0, 1);
        var sets = Enumerable.Range(0, 2).Select(i => cluster[i].StartClusterPeriodicTasks(ClusterClientTests.Set())).ToList();
        var client = sets[1].Client(Wait); // the singleton is on node 0, the oldest: its pages and counts cross the network
        await TestCluster.WaitUntilAsync(() => client.GetTaskAsync("report").Result.Runs >= 5, Wait, "runs of the cluster task");

        var page = await client.GetRunsAsync("report", limit: 2);
        Assert.Equal(2, page.Runs.Count);
        Assert.All(page.Runs, r => Assert.Equal(Akka.Cluster.Cluster.Get(cluster[0]).SelfAddress.ToString(), r.Node));
        Assert.NotNull(page.Next);
        Assert.True(page.Runs[0].StartedAt > page.Runs[1].StartedAt, "newest first");
        Assert.True((await client.GetRunsAsync("report", page.Next)).Runs[0].StartedAt < page.Runs[1].StartedAt, "the next page is older");

        var since = DateTimeOffset.UtcNow.AddHours(-1);
        var singleton = await sets[1].ClusterTasks[""].Ask<RunCountsReport>(new GetRunCounts(since), Wait);
        var own = await sets[1].NodeTasks.Ask<RunCountsReport>(new GetRunCounts(since), Wait);
        var all = await client.GetRunCountsAsync(since);
        Assert.True(singleton.Minutes.Sum(m => m.Runs) >= 3 && own.Minutes.Sum(m => m.Runs) >= 1, "runs of both managers counted");
        Assert.True(all.Minutes.Sum(m => m.Runs) >= singleton.Minutes.Sum(m => m.Runs) + own.Minutes.Sum(m => m.Runs),
            "the client's counts are the sum of both managers' (asked later, so at least as many)");
    }

    [Fact]
    public async Task Run_counts_of_sharded_tasks_are_summed_over_their_buckets_each_counting_only_its_own_runs()
    {
        const int shards = 4;
        var names = Enumerable.Range(0, 8).Select(i => $"job-{i}").ToList();
        Assert.True(names.Select(n => TaskBuckets.Of(n, shards)).Distinct().Count() > 1, "the tasks are in several buckets");
        var set = new PeriodicTaskSet("jobs");
        foreach (var name in names)
            set.Add(name, _ =>
            {
                if (name == "job-3")
                    throw new InvalidOperationException("job-3 fails");
            }, new PeriodicTaskOptions { Scope = TaskScope.Cluster, Spacing = TimeSpan.FromHours(1), RunImmediately = true });
        using var cluster = new TestCluster($$"""
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 100ms
              shutdown-timeout = 1s
              cluster { distribution = sharded, shards = {{shards}} }
            }
            {{_backend.Hocon}}
            """);
        await cluster.FormAsync(0);
        var tasks = cluster[0].StartClusterPeriodicTasks(set);
        var client = tasks.Client(Wait);
        await TestCluster.WaitUntilAsync(() => client.GetStatsAsync().Result.Tasks.All(t => t.Runs == 1 && !t.Running),
            TimeSpan.FromSeconds(30), "every task ran once");

        // Each bucket's keeper writes its runs' minutes under its own persistence id: the sum counts every run once.
        var since = DateTimeOffset.UtcNow.AddHours(-1);
        var counts = await tasks.ClusterTasks[""].Ask<RunCountsReport>(new GetRunCounts(since), Wait);
        Assert.Equal(("jobs", 8L, 1L), (counts.SetName, counts.Minutes.Sum(m => m.Runs), counts.Minutes.Sum(m => m.Failed)));
        var all = await client.GetRunCountsAsync(since); // with this node's manager, which has no tasks
        Assert.Equal((8L, 1L), (all.Minutes.Sum(m => m.Runs), all.Minutes.Sum(m => m.Failed)));
        var run = Assert.Single((await client.GetRunsAsync("job-3")).Runs);
        Assert.Equal(("failed", "job-3 fails"), (run.Outcome, run.Error));
    }

    public void Dispose() => _backend.Dispose();
}
