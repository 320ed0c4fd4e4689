using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>docs/control.md, "Run history": what a set keeps of its runs in memory, in virtual time.</summary>
public class RunHistoryTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Keeps_the_newest_runs_up_to_keep_runs()
    {
        var history = new RunHistory("s", new RunHistorySettings(3, TimeSpan.FromDays(7)), node: null);
        for (var i = 0; i < 5; i++)
            history.Record("t", Run(i, T0.AddMinutes(i)));

        var page = history.Page(new GetRuns("t"), T0.AddMinutes(5));
        Assert.Equal([4L, 3L, 2L], page.Runs.Select(r => r.Tick));
        Assert.Null(page.Next);
    }

    [Fact]
    public void Drops_runs_that_started_more_than_keep_for_ago()
    {
        var history = new RunHistory("s", new RunHistorySettings(100, TimeSpan.FromHours(1)), node: null);
        history.Record("t", Run(1, T0));
        history.Record("t", Run(2, T0.AddMinutes(30)));

        Assert.Equal([2L, 1L], history.Page(new GetRuns("t"), T0.AddMinutes(59)).Runs.Select(r => r.Tick));
        Assert.Equal([2L], history.Page(new GetRuns("t"), T0.AddMinutes(61)).Runs.Select(r => r.Tick));
        Assert.Empty(history.Page(new GetRuns("t"), T0.AddMinutes(91)).Runs);
    }

    [Fact]
    public void Pages_go_back_through_every_run_once_newest_first()
    {
        var history = new RunHistory("s", new RunHistorySettings(100, TimeSpan.FromDays(7)), node: null);
        for (var i = 0; i < 12; i++)
            history.Record("t", Run(i, T0.AddMinutes(i)));

        var seen = new List<long>();
        DateTimeOffset? before = null;
        var pages = 0;
        do
        {
            var page = history.Page(new GetRuns("t", before, 5), T0.AddHours(1));
            seen.AddRange(page.Runs.Select(r => r.Tick));
            before = page.Next;
            pages++;
        }
        while (before is not null);

        Assert.Equal(Enumerable.Range(0, 12).Reverse().Select(i => (long)i), seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public void Counts_runs_and_failures_per_minute_of_their_end_for_at_most_a_day()
    {
        var history = new RunHistory("s", RunHistorySettings.Default, node: null);
        history.Record("a", Run(1, T0.AddSeconds(10)));
        history.Record("b", Run(2, T0.AddSeconds(20), "failed"));
        history.Record("a", Run(3, T0.AddSeconds(70), "timed-out"));
        history.Record("a", Run(4, T0.AddHours(-30))); // more than a day before now

        var counts = history.Counts(T0.AddDays(-3), T0.AddMinutes(5)).Minutes;
        Assert.Equal([new RunCount(T0, 2, 1), new RunCount(T0.AddMinutes(1), 1, 1)], counts);
        Assert.Equal([new RunCount(T0.AddMinutes(1), 1, 1)], history.Counts(T0.AddMinutes(1), T0.AddMinutes(5)).Minutes);
    }

    [Fact]
    public void Counts_of_several_managers_add_up_minute_by_minute()
    {
        var sum = RunCounts.Sum("s", [
            new RunCountsReport("s", [new RunCount(T0, 2, 1), new RunCount(T0.AddMinutes(2), 1, 0)]),
            new RunCountsReport("s", [new RunCount(T0, 3, 0), new RunCount(T0.AddMinutes(1), 4, 4)]),
        ]);
        Assert.Equal([new RunCount(T0, 5, 1), new RunCount(T0.AddMinutes(1), 4, 4), new RunCount(T0.AddMinutes(2), 1, 0)], sum.Minutes);
    }

    [Fact]
    public async Task A_set_keeps_each_run_with_its_end_attempts_and_last_error()
    {
        var calls = 0;
        var manager = ManualManager(new PeriodicTaskSet("compute")
            .Add("ok", _ => { })
            .Add("flaky", _ => throw new InvalidOperationException($"disk full\nattempt {++calls}"),
                new PeriodicTaskOptions { Retries = 1, RetryBackoff = TimeSpan.FromSeconds(5) }));
        Subscribe<PeriodicTaskFailed>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskFailed>();
        Scheduler.Advance(TimeSpan.FromSeconds(5)); // the retry
        ExpectMsg<PeriodicTaskFailed>();

        var flaky = await AwaitRuns(manager, "flaky", 1);
        var run = Assert.Single(flaky.Runs, r => r.Tick == 1);
        Assert.Equal(("failed", 2, "disk full attempt 2"), (run.Outcome, run.Attempts, run.Error));
        Assert.Equal(Scheduler.Now, run.EndedAt);
        var ok = (await manager.Ask<RunsPage>(new GetRuns("ok"))).Runs;
        var okRun = Assert.Single(ok);
        Assert.Equal(("succeeded", 1L, 1, (string?)null), (okRun.Outcome, okRun.Tick, okRun.Attempts, okRun.Error));

        var counts = await manager.Ask<RunCountsReport>(new GetRunCounts(Scheduler.Now.AddHours(-1)));
        Assert.Equal((2L, 1L), (counts.Minutes.Sum(m => m.Runs), counts.Minutes.Sum(m => m.Failed)));
    }

    [Fact]
    public async Task Run_history_settings_bound_what_a_set_keeps()
    {
        var manager = ManualManager(
            new PeriodicTaskSet("compute").Add("t", _ => { }),
            "actor-scheduler.run-history { keep-runs = 2, keep-for = 1h }");
        RunsPage page = null!;
        for (var tick = 1; tick <= 4; tick++)
        {
            manager.Tell(new Tick(tick));
            page = await AwaitRuns(manager, "t", Math.Min(tick, 2), lastTick: tick);
        }

        Assert.Equal([4L, 3L], page.Runs.Select(r => r.Tick));

        Scheduler.Advance(TimeSpan.FromMinutes(61));
        Assert.Empty((await manager.Ask<RunsPage>(new GetRuns("t"))).Runs);
    }

    [Fact]
    public async Task A_bad_limit_and_an_unknown_task_are_refused_and_a_removed_task_is_forgotten()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("sync-power-states", _ => { }));
        var limit = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => manager.Ask<RunsPage>(new GetRuns("sync-power-states", Limit: 0)));
        Assert.Contains("between 1 and 1000", limit.Message);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => manager.Ask<RunsPage>(new GetRuns("sync-power-states", Limit: 1001)));
        var unknown = await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => manager.Ask<RunsPage>(new GetRuns("sync-power-state")));
        Assert.Contains("did you mean 'sync-power-states'?", unknown.Message);

        var client = new PeriodicTaskClient(manager);
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = client.GetRunsAsync("sync-power-states", limit: 0); });
        manager.Tell(new Tick(1));
        await AwaitRuns(manager, "sync-power-states", 1, lastTick: 1);
        await client.RemoveAsync("sync-power-states");
        await client.AddAsync("sync-power-states", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { TicksBetweenRuns = 10 });
        Assert.Empty((await client.GetRunsAsync("sync-power-states")).Runs);
    }

    [Fact]
    public async Task The_client_pages_through_the_history()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ => { }));
        for (var tick = 1; tick <= 6; tick++)
        {
            Scheduler.Advance(TimeSpan.FromSeconds(1)); // distinct starts
            manager.Tell(new Tick(tick));
            await AwaitRuns(manager, "t", tick, lastTick: tick);
        }

        var client = new PeriodicTaskClient(manager);
        var first = await client.GetRunsAsync("t", limit: 4);
        Assert.Equal([6L, 5L, 4L, 3L], first.Runs.Select(r => r.Tick));
        var second = await client.GetRunsAsync("t", first.Next, limit: 4);
        Assert.Equal([2L, 1L], second.Runs.Select(r => r.Tick));
        Assert.Null(second.Next);
        var counts = await client.GetRunCountsAsync(Scheduler.Now.AddHours(-1));
        Assert.Equal(6, counts.Minutes.Sum(m => m.Runs));
    }

    [Fact]
    public void Run_history_keys_are_checked_with_their_full_path()
    {
        var keepRuns = Assert.Throws<PeriodicTaskConfigurationException>(() => Settings("actor-scheduler.run-history.keep-runs = 0"));
        Assert.Contains("actor-scheduler.run-history.keep-runs", keepRuns.Message);
        var keepFor = Assert.Throws<PeriodicTaskConfigurationException>(() => Settings("actor-scheduler.run-history.keep-for = 0s"));
        Assert.Contains("actor-scheduler.run-history.keep-for", keepFor.Message);
        var unknown = Assert.Throws<PeriodicTaskConfigurationException>(() => Settings("actor-scheduler.run-history.keep = 5"));
        Assert.Contains("actor-scheduler.run-history.keep", unknown.Message);
        Assert.Equal(new RunHistorySettings(100, TimeSpan.FromDays(7)), Settings().RunHistory);
        var ownSet = PeriodicTaskSettings.Create(
            Akka.Configuration.ConfigurationFactory.ParseString("actor-scheduler.sets.s.run-history { keep-runs = 5, keep-for = 1d }"), "s");
        Assert.Equal(new RunHistorySettings(5, TimeSpan.FromDays(1)), ownSet.RunHistory);
    }

    /// <summary>Polls the history until <paramref name="count"/> runs of <paramref name="task"/> are kept (the last of tick <paramref name="lastTick"/> when given).</summary>
    private async Task<RunsPage> AwaitRuns(IActorRef manager, string task, int count, long? lastTick = null)
    {
        RunsPage page = null!;
        await AwaitAssertAsync(async () =>
        {
            page = await manager.Ask<RunsPage>(new GetRuns(task));
            Assert.True(page.Runs.Count >= count, $"{page.Runs.Count} runs of {task} kept, {count} expected");
            if (lastTick is { } tick)
                Assert.Equal(tick, page.Runs[0].Tick);
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        return page;
    }

    private static PeriodicTaskRun Run(long tick, DateTimeOffset startedAt, string outcome = "succeeded") =>
        new(tick, startedAt, startedAt, TimeSpan.FromMilliseconds(5), outcome, 1, null) { EndedAt = startedAt.AddMilliseconds(5) };
}
