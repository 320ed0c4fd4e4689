using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// The run history in the state store's database (docs/cluster.md, "Run history"), written once and run against each
/// backend: through a keeper across a restart, and the table alone with given times (retention, minutes).
/// </summary>
internal sealed class RunHistoryScenarios(TestKitBase kit, StateBackend backend)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly StateScenarios _state = new(kit, backend);

    public async Task The_history_with_a_failed_runs_error_and_the_counts_survive_a_restart()
    {
        var name = StateScenarios.NewSetName();
        var attempt = 0;
        var set = () => new PeriodicTaskSet(name).Add("every-tick", _ =>
        {
            if (Interlocked.Increment(ref attempt) == 2)
                throw new InvalidOperationException("disk full on /var");
        }, new PeriodicTaskOptions { TicksBetweenRuns = 0 });

        using (var first = _state.Start(name))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            await RunTicksAsync(first, keeper, "every-tick", 4);
        }

        using var second = _state.Start(name);
        var restarted = second.Keeper(set(), withTicker: false);
        var page = await restarted.Ask<RunsPage>(new GetRuns("every-tick"), Wait);
        Assert.Equal([4L, 3, 2, 1], page.Runs.Select(r => r.Tick)); // newest first
        Assert.Null(page.Next);
        var failed = Assert.Single(page.Runs, r => r.Outcome == "failed");
        Assert.Equal(2, failed.Tick);
        Assert.Contains("disk full on /var", failed.Error);
        Assert.All(page.Runs.Where(r => r.Outcome == "succeeded"), r => Assert.Null(r.Error));
        Assert.All(page.Runs, r => Assert.True(r.EndedAt >= r.StartedAt, $"run of tick {r.Tick} ended at {r.EndedAt:O}, before its start {r.StartedAt:O}"));

        var counts = await restarted.Ask<RunCountsReport>(new GetRunCounts(DateTimeOffset.UtcNow.AddHours(-1)), Wait);
        Assert.Equal((4L, 1L), (counts.Minutes.Sum(m => m.Runs), counts.Minutes.Sum(m => m.Failed)));
    }

    public async Task Paging_with_next_gives_every_run_once_newest_first()
    {
        var name = StateScenarios.NewSetName();
        using var node = _state.Start(name);
        var keeper = node.Keeper(new PeriodicTaskSet(name).Add("every-tick", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 0 }), withTicker: false);
        await RunTicksAsync(node, keeper, "every-tick", 7);

        var pages = new List<RunsPage>();
        DateTimeOffset? before = null;
        do
        {
            var page = await keeper.Ask<RunsPage>(new GetRuns("every-tick", before, Limit: 3), Wait);
            pages.Add(page);
            if (page.Next is { } next)
                Assert.Equal(page.Runs[^1].StartedAt, next);
            before = page.Next;
        }
        while (before is not null && pages.Count < 10);

        Assert.Equal([3, 3, 1], pages.Select(p => p.Runs.Count));
        Assert.Equal([7L, 6, 5, 4, 3, 2, 1], pages.SelectMany(p => p.Runs).Select(r => r.Tick));
    }

    public async Task A_task_removed_and_added_again_starts_with_an_empty_history()
    {
        var name = StateScenarios.NewSetName();
        using var node = _state.Start(name);
        var keeper = node.Keeper(new PeriodicTaskSet(name).Add("every-tick", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 0 }), withTicker: false);
        await RunTicksAsync(node, keeper, "every-tick", 2);
        Assert.Equal(2, (await keeper.Ask<RunsPage>(new GetRuns("every-tick"), Wait)).Runs.Count);

        var client = new PeriodicTaskClient(keeper, Wait);
        await client.RemoveAsync("every-tick");
        await client.AddAsync("every-tick", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { TicksBetweenRuns = 0 });
        var deadline = DateTime.UtcNow + Wait;
        while ((await keeper.Ask<RunsPage>(new GetRuns("every-tick"), Wait)).Runs.Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the removed task's runs are still in its history");
            await Task.Delay(50);
        }
    }

    public async Task A_limit_out_of_range_is_refused_with_a_failure()
    {
        var name = StateScenarios.NewSetName();
        using var node = _state.Start(name);
        var keeper = node.Keeper(new PeriodicTaskSet(name).Add("task", _ => { }), withTicker: false);
        foreach (var limit in new[] { 0, GetRuns.MaxLimit + 1 })
        {
            var refused = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => keeper.Ask<RunsPage>(new GetRuns("task", Limit: limit), Wait));
            Assert.Contains($"between 1 and {GetRuns.MaxLimit}", refused.Message);
        }

        Assert.Empty((await keeper.Ask<RunsPage>(new GetRuns("task", Limit: GetRuns.MaxLimit), Wait)).Runs);
    }

    public async Task Retention_keeps_each_tasks_newest_runs_and_deletes_by_age_in_chunks()
    {
        var name = StateScenarios.NewSetName();
        var table = Table(name, "owner");
        await table.WriteAsync([.. Runs("a", 10, TimeSpan.FromMinutes(1)), .. Runs("b", 3, TimeSpan.FromMinutes(1))]);

        Assert.Equal((4, 0), await table.KeepNewestAsync(["a", "b"], keepRuns: 4, chunk: 4)); // at most 4 deleted: a may have more
        Assert.Equal((2, 2), await table.KeepNewestAsync(["a", "b"], keepRuns: 4, chunk: 4));
        Assert.Equal([9L, 8, 7, 6], await TicksAsync(table, "a"));
        Assert.Equal([2L, 1, 0], await TicksAsync(table, "b"));
        Assert.Equal((0, 2), await table.KeepNewestAsync(["a", "b"], keepRuns: 4, chunk: 4));

        var other = Table(StateScenarios.NewSetName(), "owner"); // another set's runs are not this set's to delete
        await other.WriteAsync(Runs("a", 5, TimeSpan.FromDays(1)));
        await table.WriteAsync(Runs("c", 5, TimeSpan.FromDays(1)));
        var cut = T0 + TimeSpan.FromDays(3); // older: c's runs of days 0-2, and the 7 runs of a and b (minutes after T0)
        var deleted = new List<int>();
        int chunk;
        do
            deleted.Add(chunk = await table.DeleteStartedBeforeAsync(cut, chunk: 4));
        while (chunk == 4 && deleted.Count < 10);
        Assert.Equal([4, 4, 2], deleted);
        Assert.Empty(await TicksAsync(table, "a"));
        Assert.Empty(await TicksAsync(table, "b"));
        Assert.Equal([4L, 3], await TicksAsync(table, "c"));
        Assert.Equal([4L, 3, 2, 1, 0], await TicksAsync(other, "a"));
    }

    /// <summary>A write of several statements' worth (full ones prepared once, then the rest) keeps every run whole.</summary>
    public async Task A_large_write_reads_back_every_field_of_every_run()
    {
        var table = Table(StateScenarios.NewSetName(), "owner");
        var runs = Enumerable.Range(0, 1234).Select(i => (Task: "t" + (i % 3), Run: new PeriodicTaskRun(
            i, T0.AddSeconds(i), T0.AddSeconds(i).AddTicks(i), TimeSpan.FromTicks(12345 + i), i % 7 == 0 ? "failed" : "succeeded", 1 + i % 3,
            i % 2 == 0 ? null : "akka.tcp://a@127.0.0.1:" + i)
        {
            EndedAt = T0.AddSeconds(i + 0.5),
            Error = i % 7 == 0 ? $"error {i}: é" : null,
        })).ToList();
        await table.WriteAsync(runs);

        foreach (var task in new[] { "t0", "t1", "t2" })
        {
            var page = await table.PageAsync(new GetRuns(task, Limit: GetRuns.MaxLimit), DateTimeOffset.MinValue, int.MaxValue);
            Assert.Equal(runs.Where(r => r.Task == task).Select(r => r.Run).Reverse(), page.Runs);
        }

        Assert.Equal(1234, (await table.CountsAsync(T0.AddHours(-1))).Minutes.Sum(m => m.Runs));
    }

    /// <summary>Runs beyond keep-runs wait for a trim in the table; until then pages leave them out, as the memory history would.</summary>
    public async Task Pages_show_no_more_than_keep_runs_of_a_task_before_it_is_trimmed()
    {
        var table = Table(StateScenarios.NewSetName(), "owner");
        await table.WriteAsync(Runs("a", 10, TimeSpan.FromMinutes(1)));

        var first = await table.PageAsync(new GetRuns("a", Limit: 3), DateTimeOffset.MinValue, keepRuns: 4);
        Assert.Equal([9L, 8, 7], first.Runs.Select(r => r.Tick));
        var second = await table.PageAsync(new GetRuns("a", first.Next, Limit: 3), DateTimeOffset.MinValue, keepRuns: 4);
        Assert.Equal([6L], second.Runs.Select(r => r.Tick));
        Assert.Null(second.Next);
        Assert.Empty((await table.PageAsync(new GetRuns("a", second.Runs[0].StartedAt), DateTimeOffset.MinValue, keepRuns: 4)).Runs);
        Assert.Equal([9L, 8, 7, 6], (await table.PageAsync(new GetRuns("a", Limit: 4), DateTimeOffset.MinValue, keepRuns: 4)).Runs.Select(r => r.Tick));
        Assert.Null((await table.PageAsync(new GetRuns("a", Limit: 4), DateTimeOffset.MinValue, keepRuns: 4)).Next);
        // and runs older than keep-for are left out whatever their number
        Assert.Equal([9L, 8], (await table.PageAsync(new GetRuns("a"), T0.AddMinutes(8), keepRuns: 100)).Runs.Select(r => r.Tick));
    }

    public async Task Counts_are_kept_per_minute_and_owner_and_minutes_without_runs_are_left_out()
    {
        var name = StateScenarios.NewSetName();
        var bucket1 = Table(name, $"test/{name}/shard-1");
        var bucket2 = Table(name, $"test/{name}/shard-2");
        var minute = RunCounts.MinuteOf(T0);
        await bucket1.WriteAsync([Run("a", 0, T0, "succeeded"), Run("a", 1, T0.AddSeconds(10), "failed"), Run("b", 0, T0.AddSeconds(20), "timed-out")]);
        await bucket1.WriteAsync([Run("a", 2, T0.AddSeconds(30), "succeeded"), Run("a", 3, T0.AddSeconds(40), "cancelled")]); // added to the minute
        await bucket1.WriteAsync([Run("a", 4, T0.AddMinutes(2), "succeeded")]);
        await bucket2.WriteAsync(Runs("c", 4, TimeSpan.FromSeconds(1)));

        var first = await bucket1.CountsAsync(T0.AddHours(-1));
        Assert.Equal([new RunCount(RunCounts.StartOf(minute), 5, 2), new RunCount(RunCounts.StartOf(minute + 2), 1, 0)], first.Minutes);
        var second = await bucket2.CountsAsync(T0.AddHours(-1));
        Assert.Equal([new RunCount(RunCounts.StartOf(minute), 4, 0)], second.Minutes);
        Assert.Equal([new RunCount(RunCounts.StartOf(minute), 9, 2), new RunCount(RunCounts.StartOf(minute + 2), 1, 0)],
            RunCounts.Sum(name, [first, second]).Minutes);
        Assert.Equal([new RunCount(RunCounts.StartOf(minute + 2), 1, 0)], (await bucket1.CountsAsync(T0.AddMinutes(1))).Minutes);

        Assert.Equal(1, await bucket1.DeleteMinutesBeforeAsync(minute + 1));
        Assert.Equal([new RunCount(RunCounts.StartOf(minute + 2), 1, 0)], (await bucket1.CountsAsync(T0.AddHours(-1))).Minutes);
        Assert.Single((await bucket2.CountsAsync(T0.AddHours(-1))).Minutes);
    }

    private RunHistoryTable Table(string setName, string owner) =>
        new(StateDatabase.Create(backend.Provider, backend.ConnectionString, TimeSpan.FromSeconds(30), "the test"), setName, owner);

    private static async Task<List<long>> TicksAsync(RunHistoryTable table, string task) =>
        (await table.PageAsync(new GetRuns(task, Limit: GetRuns.MaxLimit), DateTimeOffset.MinValue, int.MaxValue)).Runs.Select(r => r.Tick).ToList();

    /// <summary><paramref name="count"/> runs of <paramref name="task"/> from <see cref="T0"/>, <paramref name="apart"/> apart, ticks from 0.</summary>
    internal static List<(string Task, PeriodicTaskRun Run)> Runs(string task, int count, TimeSpan apart) =>
        Enumerable.Range(0, count).Select(i => Run(task, i, T0 + apart * i, "succeeded")).ToList();

    internal static (string Task, PeriodicTaskRun Run) Run(string task, long tick, DateTimeOffset startedAt, string outcome) =>
        (task, new PeriodicTaskRun(tick, startedAt, startedAt, TimeSpan.FromMilliseconds(5), outcome, 1, null)
        {
            EndedAt = startedAt + TimeSpan.FromMilliseconds(5),
            Error = outcome == "succeeded" ? null : outcome,
        });

    /// <summary>Tick 0, then ticks 1 to <paramref name="runs"/>, each run of <paramref name="task"/> ended and written before the next.</summary>
    private static async Task RunTicksAsync(StateScenarios.Node node, IActorRef keeper, string task, int runs)
    {
        keeper.Tell(new Tick(0)); // an every-tick task runs from tick 1
        for (var tick = 1; tick <= runs; tick++)
        {
            keeper.Tell(new Tick(tick));
            await node.SettleAsync(keeper, task, tick);
        }
    }
}

/// <summary>The run history in a SQLite file (a file per test).</summary>
public sealed class SqliteRunHistoryTests : TestKit, IDisposable
{
    private readonly StateBackend _backend = StateBackend.Sqlite();

    private RunHistoryScenarios Scenarios => new(this, _backend);

    [Fact]
    public Task The_history_with_a_failed_runs_error_and_the_counts_survive_a_restart() =>
        Scenarios.The_history_with_a_failed_runs_error_and_the_counts_survive_a_restart();

    [Fact]
    public Task Paging_with_next_gives_every_run_once_newest_first() => Scenarios.Paging_with_next_gives_every_run_once_newest_first();

    [Fact]
    public Task A_task_removed_and_added_again_starts_with_an_empty_history() => Scenarios.A_task_removed_and_added_again_starts_with_an_empty_history();

    [Fact]
    public Task A_limit_out_of_range_is_refused_with_a_failure() => Scenarios.A_limit_out_of_range_is_refused_with_a_failure();

    [Fact]
    public Task Retention_keeps_each_tasks_newest_runs_and_deletes_by_age_in_chunks() =>
        Scenarios.Retention_keeps_each_tasks_newest_runs_and_deletes_by_age_in_chunks();

    [Fact]
    public Task A_large_write_reads_back_every_field_of_every_run() => Scenarios.A_large_write_reads_back_every_field_of_every_run();

    [Fact]
    public Task Pages_show_no_more_than_keep_runs_of_a_task_before_it_is_trimmed() => Scenarios.Pages_show_no_more_than_keep_runs_of_a_task_before_it_is_trimmed();

    [Fact]
    public Task Counts_are_kept_per_minute_and_owner_and_minutes_without_runs_are_left_out() =>
        Scenarios.Counts_are_kept_per_minute_and_owner_and_minutes_without_runs_are_left_out();

    void IDisposable.Dispose()
    {
        _backend.Dispose();
        Dispose();
    }
}

/// <summary>The same behaviours against PostgreSQL: run when ACTOR_SCHEDULER_TEST_PG is set (.ci/postgres.sh).</summary>
public sealed class PostgresRunHistoryTests : TestKit
{
    private static RunHistoryScenarios Scenarios(TestKit kit) => new(kit, StateBackend.Postgres());

    [PostgresFact]
    public Task The_history_with_a_failed_runs_error_and_the_counts_survive_a_restart() =>
        Scenarios(this).The_history_with_a_failed_runs_error_and_the_counts_survive_a_restart();

    [PostgresFact]
    public Task Paging_with_next_gives_every_run_once_newest_first() => Scenarios(this).Paging_with_next_gives_every_run_once_newest_first();

    [PostgresFact]
    public Task A_task_removed_and_added_again_starts_with_an_empty_history() =>
        Scenarios(this).A_task_removed_and_added_again_starts_with_an_empty_history();

    [PostgresFact]
    public Task A_limit_out_of_range_is_refused_with_a_failure() => Scenarios(this).A_limit_out_of_range_is_refused_with_a_failure();

    [PostgresFact]
    public Task Retention_keeps_each_tasks_newest_runs_and_deletes_by_age_in_chunks() =>
        Scenarios(this).Retention_keeps_each_tasks_newest_runs_and_deletes_by_age_in_chunks();

    [PostgresFact]
    public Task A_large_write_reads_back_every_field_of_every_run() => Scenarios(this).A_large_write_reads_back_every_field_of_every_run();

    [PostgresFact]
    public Task Pages_show_no_more_than_keep_runs_of_a_task_before_it_is_trimmed() =>
        Scenarios(this).Pages_show_no_more_than_keep_runs_of_a_task_before_it_is_trimmed();

    [PostgresFact]
    public Task Counts_are_kept_per_minute_and_owner_and_minutes_without_runs_are_left_out() =>
        Scenarios(this).Counts_are_kept_per_minute_and_owner_and_minutes_without_runs_are_left_out();
}
