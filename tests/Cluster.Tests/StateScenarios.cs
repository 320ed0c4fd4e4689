using System.Diagnostics;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// The persistence behaviours, written once and run against each backend (SqliteStateTests, PostgresStateTests).
/// Each scenario uses its own task-set name, so scenarios sharing one PostgreSQL database never see each other's state.
/// </summary>
internal sealed class StateScenarios(TestKitBase kit, StateBackend backend)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>The periodic interval every node here ticks at (actor-scheduler.periodic-interval below).</summary>
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    public async Task A_tick_counted_task_keeps_its_counter_across_a_restart()
    {
        var name = NewSetName();
        var set = () => new PeriodicTaskSet(name).Add("count", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 3 });

        DateTimeOffset lastRun;
        using (var first = Start(name))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            for (var tick = 0; tick <= 5; tick++)
                keeper.Tell(new Tick(tick));
            var ran = first.Events.ExpectMsg<PeriodicTaskStarted>(Wait);
            Assert.Equal(4, ran.Tick); // ticks 4, 8, ...: 3 left after tick 5
            await first.SettleAsync(keeper, "count", 5);
            lastRun = (await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["count"].LastStart!.Value;
        }

        using var second = Start(name);
        var restarted = second.Keeper(set(), withTicker: false);
        // Tick numbers continue after the last one recorded (5): the restarted set's first tick is 6.
        for (var tick = 6; tick <= 7; tick++)
            restarted.Tell(new Tick(tick));
        await restarted.Ask<Ticked>(new NotifyWhenTicked(7), Wait); // ticks 6 and 7 are processed: a run on them has started
        var stats = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
        Assert.False(stats["count"].Running);
        Assert.Equal(lastRun, stats["count"].LastStart); // the last run is part of the saved place
        Assert.Equal(1, stats["count"].Runs); // and so are the counters
        Assert.Equal(8, stats["count"].NextDueTick);
        restarted.Tell(new Tick(8));
        Assert.Equal(8, second.Events.ExpectMsg<PeriodicTaskStarted>(Wait).Tick);
    }

    public async Task A_spaced_task_continues_its_cadence_after_a_restart_and_run_immediately_applies_only_once()
    {
        var name = NewSetName();
        // Ticks are sent, not waited for, and the restart comes long before the next due time, however slow the machine.
        var spacing = TimeSpan.FromHours(1);
        var set = () => new PeriodicTaskSet(name).Add("spaced", _ => { }, new PeriodicTaskOptions { Spacing = spacing, RunImmediately = true });

        PeriodicTaskStarted started;
        DateTimeOffset lastStart;
        using (var first = Start(name))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            keeper.Tell(new Tick(0));
            started = first.Events.ExpectMsg<PeriodicTaskStarted>(Wait);
            Assert.Equal(0, started.Tick); // run-immediately on the first start
            await first.SettleAsync(keeper, "spaced", 0);
            lastStart = (await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["spaced"].LastStart!.Value;
        }

        using var second = Start(name);
        // The saved place: due one spacing after the first run's due time.
        var saved = (await second.RecoverAsync(name, fromSnapshot: true)).State.Places["spaced"].NextDueAt!.Value;
        Assert.Equal(started.ScheduledAt + spacing, saved);
        var restarted = second.Keeper(set(), withTicker: false);
        var recovered = (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["spaced"];
        // Due on the restarted set's first tick at or after the saved due time, not one spacing after the restart.
        Assert.True(recovered.NextDueAt >= saved && recovered.NextDueAt < saved + Interval,
            $"next due {recovered.NextDueAt:O}: not the first tick at or after the saved due time {saved:O}");
        var dueTick = recovered.NextDueTick!.Value;

        // Not at once (no run-immediately on a restart with saved state), nor on any tick before the due one; tick
        // numbers continue after the first start's (tick 0).
        restarted.Tell(new Tick(1));
        restarted.Tell(new Tick(dueTick - 1));
        await restarted.Ask<Ticked>(new NotifyWhenTicked(dueTick - 1), Wait);
        var waiting = (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["spaced"];
        Assert.Equal((1L, false, lastStart), (waiting.Runs, waiting.Running, waiting.LastStart));
        restarted.Tell(new Tick(dueTick));
        var next = second.Events.ExpectMsg<PeriodicTaskStarted>(Wait);
        Assert.Equal((dueTick, recovered.NextDueAt), (next.Tick, next.ScheduledAt));
    }

    public async Task Due_times_missed_while_stopped_coalesce_into_one_run_counted_as_missed()
    {
        var name = NewSetName();
        var spacing = TimeSpan.FromMilliseconds(400);
        var set = () => new PeriodicTaskSet(name).Add("often", _ => { }, new PeriodicTaskOptions { Spacing = spacing, RunImmediately = true });

        using (var first = Start(name))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            keeper.Tell(new Tick(0));
            Assert.Equal(0, first.Events.ExpectMsg<PeriodicTaskStarted>(Wait).Tick);
            await first.SettleAsync(keeper, "often", 0);
        }

        // The downtime under test: at least 1.5 s, so at least 3 due times from the saved one (0.4 s after the run) pass.
        await Task.Delay(TimeSpan.FromMilliseconds(1500));
        using var second = Start(name, typeof(PeriodicTaskMissed));
        var saved = (await second.RecoverAsync(name, fromSnapshot: true)).State.Places["often"].NextDueAt!.Value;
        var restarted = second.Keeper(set(), withTicker: false);
        restarted.Tell(new Tick(1));
        var missed = second.Events.ExpectMsg<PeriodicTaskMissed>(Wait);
        var run = second.Events.ExpectMsg<PeriodicTaskStarted>(Wait);
        Assert.Equal((1, 1), (missed.Tick, run.Tick)); // one run at once for all of them, on the restarted set's first tick
        // Every due time from the saved one up to the restart (the first tick's due time) but the one this run serves.
        var passed = (run.ScheduledAt - saved).Ticks / spacing.Ticks;
        Assert.True(passed >= 2, $"{passed} due times counted from {saved:O} to the restart at {run.ScheduledAt:O}");
        Assert.Equal(passed, missed.Count);
        await second.SettleAsync(restarted, "often", 1);
        var stats = (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["often"];
        // No catch-up run per missed due time, and the counters continue from the first start's run.
        Assert.Equal((2L, (long)missed.Count), (stats.Runs, stats.Missed));
        Assert.True(stats.NextDueAt > run.ScheduledAt, $"next due {stats.NextDueAt:O}, not after the coalesced run");
    }

    public async Task With_misfire_skip_due_times_missed_while_stopped_get_no_run_and_are_all_counted_as_missed()
    {
        var name = NewSetName();
        var spacing = TimeSpan.FromMilliseconds(400);
        var set = () => new PeriodicTaskSet(name).Add("often", _ => { },
            new PeriodicTaskOptions { Spacing = spacing, RunImmediately = true, Misfire = MisfirePolicy.Skip });

        using (var first = Start(name))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            keeper.Tell(new Tick(0));
            Assert.Equal(0, first.Events.ExpectMsg<PeriodicTaskStarted>(Wait).Tick);
            await first.SettleAsync(keeper, "often", 0);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(1500)); // the downtime under test: at least 3 due times pass
        using var second = Start(name, typeof(PeriodicTaskMissed));
        var saved = (await second.RecoverAsync(name, fromSnapshot: true)).State.Places["often"].NextDueAt!.Value;
        var restarted = second.Keeper(set(), withTicker: false);
        var missed = second.Events.ExpectMsg<PeriodicTaskMissed>(Wait); // counted when the set starts (its ScheduledAt)
        // Every due time from the saved one up to the restart.
        var passed = 1 + (missed.ScheduledAt - saved).Ticks / spacing.Ticks;
        Assert.True(passed >= 3, $"{passed} due times counted from {saved:O} to the restart at {missed.ScheduledAt:O}");
        Assert.Equal(passed, missed.Count);
        // The task waits for its next due time on the original grid: no catch-up run on the first tick.
        var waiting = (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["often"];
        var nextDue = saved + spacing * passed;
        Assert.True(waiting.NextDueAt >= nextDue && waiting.NextDueAt < nextDue + Interval,
            $"next due {waiting.NextDueAt:O}: not the first tick at or after {nextDue:O}");
        var dueTick = waiting.NextDueTick!.Value;
        Assert.True(dueTick > 1, $"due on tick {dueTick}, the restarted set's first tick");
        restarted.Tell(new Tick(1));
        await restarted.Ask<Ticked>(new NotifyWhenTicked(1), Wait);
        Assert.Equal(1, (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["often"].Runs);
        restarted.Tell(new Tick(dueTick));
        Assert.Equal(dueTick, second.Events.ExpectMsg<PeriodicTaskStarted>(Wait).Tick);
        var stats = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
        Assert.Equal(missed.Count, stats["often"].Missed);
    }

    public async Task A_run_left_in_flight_by_a_crash_holds_its_task_until_the_run_timeout()
    {
        var name = NewSetName();
        // Ticks are sent, not waited for, and the restart comes long before the run's deadline, however slow the machine.
        var timeout = TimeSpan.FromHours(1);
        var release = new ManualResetEventSlim();
        var set = () => new PeriodicTaskSet(name).Add("long", _ => release.Wait(TimeSpan.FromSeconds(20)), // ignores cancellation
            new PeriodicTaskOptions { Spacing = TimeSpan.FromMilliseconds(300), RunImmediately = true, Timeout = timeout });
        try
        {
            using (var first = Start(name))
            {
                var keeper = first.Keeper(set(), withTicker: false);
                keeper.Tell(new Tick(0));
                first.Events.ExpectMsg<PeriodicTaskStarted>(Wait);
                await first.SettleAsync(keeper, "long", 0, running: true);
            } // a crash: the run never ends, its body still runs

            using var second = Start(name);
            var deadline = (await second.RecoverAsync(name, fromSnapshot: true)).State.Running["long"].Deadline!.Value;
            var restarted = second.Keeper(set(), withTicker: false);
            await AssertHeldUntilAsync(second, restarted, "long", deadline + ScheduleKeeper.ClockMargin);
        }
        finally
        {
            release.Set();
        }
    }

    /// <summary>
    /// A run recorded by a process that is gone ended with it (runs end with their process): its task is not held. When
    /// runs can outlive their process (<paramref name="runsEndWithProcess"/> false) it is held until the run's deadline.
    /// </summary>
    public async Task A_run_left_in_flight_by_a_process_that_is_gone_holds_its_task_only_if_runs_can_outlive_their_process(bool runsEndWithProcess)
    {
        var name = NewSetName();
        var timeout = TimeSpan.FromHours(1);
        var release = new ManualResetEventSlim();
        var set = () => new PeriodicTaskSet(name).Add("long", _ => release.Wait(TimeSpan.FromSeconds(20)),
            new PeriodicTaskOptions { Spacing = TimeSpan.FromMilliseconds(300), RunImmediately = true, Timeout = timeout });
        try
        {
            PeriodicTaskStarted started;
            using (var first = Start(name))
            {
                var keeper = first.Keeper(set(), withTicker: false);
                keeper.Tell(new Tick(0));
                started = first.Events.ExpectMsg<PeriodicTaskStarted>(Wait);
                await first.SettleAsync(keeper, "long", started.Tick, running: true);
            } // a crash while the run is in flight

            using var second = Start(name);
            var deadline = (await second.RecoverAsync(name, fromSnapshot: true)).State.Running["long"].Deadline!.Value;
            // As if another process had recorded that run: this process's own runs are held whatever (its body still runs).
            await second.AppendAsync(name, new RunRecorded("long", true, started.StartedAt, deadline, Node: null, Process: "a-process-that-is-gone"));
            RunLifetime.For(second.System).EndsWithProcessWhile(() => runsEndWithProcess);
            var restarted = second.Keeper(set(), withTicker: false);
            if (!runsEndWithProcess)
            {
                await AssertHeldUntilAsync(second, restarted, "long", deadline + ScheduleKeeper.ClockMargin);
                return;
            }

            // Not held: due when its saved place says (passed by now, or within one spacing), an hour before the deadline.
            var due = (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["long"];
            Assert.True(due.NextDueAt < started.ScheduledAt + TimeSpan.FromMilliseconds(300) + Interval || due.NextDueTick == 1,
                $"next due {due.NextDueAt:O} (tick {due.NextDueTick}): held as if the run could still be in flight (deadline {deadline:O})");
            restarted.Tell(new Tick(due.NextDueTick!.Value));
            Assert.Equal(due.NextDueTick, second.Events.ExpectMsg<PeriodicTaskStarted>(Wait).Tick);
        }
        finally
        {
            release.Set();
        }
    }

    /// <summary>
    /// <paramref name="task"/> is due on the restarted set's first tick at or after <paramref name="notBefore"/>, runs on
    /// no tick before it (ticks sent, not waited for), and runs on it.
    /// </summary>
    private static async Task AssertHeldUntilAsync(Node node, IActorRef keeper, string task, DateTimeOffset notBefore)
    {
        var held = (await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))[task];
        Assert.True(held.NextDueAt >= notBefore && held.NextDueAt < notBefore + Interval,
            $"next due {held.NextDueAt:O}: not the first tick at or after the old run's deadline (with the clock margin) {notBefore:O}");
        var dueTick = held.NextDueTick!.Value;
        keeper.Tell(new Tick(1)); // the restarted set's first tick (the first start's was 0)
        keeper.Tell(new Tick(dueTick - 1));
        await keeper.Ask<Ticked>(new NotifyWhenTicked(dueTick - 1), Wait);
        var waiting = (await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))[task];
        Assert.Equal((held.Runs, false), (waiting.Runs, waiting.Running));
        keeper.Tell(new Tick(dueTick));
        var next = node.Events.ExpectMsg<PeriodicTaskStarted>(Wait);
        Assert.Equal((dueTick, held.NextDueAt), (next.Tick, next.ScheduledAt));
    }

    /// <summary>The counters and the recent runs (newest first) continue after a restart; the set keeps at most the last ten.</summary>
    public async Task Counters_and_recent_runs_continue_after_a_restart()
    {
        var name = NewSetName();
        var attempt = 0;
        var set = () => new PeriodicTaskSet(name).Add("every-tick", _ =>
        {
            if (Interlocked.Increment(ref attempt) == 2)
                throw new InvalidOperationException("second run fails");
        }, new PeriodicTaskOptions { TicksBetweenRuns = 0 });

        using (var first = Start(name))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            keeper.Tell(new Tick(0)); // runs on ticks 1 to 12
            for (var tick = 1; tick <= 12; tick++)
            {
                keeper.Tell(new Tick(tick));
                await first.SettleAsync(keeper, "every-tick", tick);
            }
        }

        using var second = Start(name);
        var restarted = second.Keeper(set(), withTicker: false);
        var stats = (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["every-tick"];
        Assert.Equal((12, 11, 1), (stats.Runs, stats.Succeeded, stats.Failed));
        Assert.NotNull(stats.MeanDuration);
        var recent = await restarted.Ask<RecentRunsReport>(new GetRecentRuns("every-tick"), Wait);
        Assert.True(recent.Kept);
        Assert.Equal(Enumerable.Range(3, 10).Reverse().Select(t => (long)t), recent.Runs.Select(r => r.Tick)); // the last ten, newest first
        Assert.All(recent.Runs, r => Assert.Equal("succeeded", r.Outcome)); // the failed run of tick 2 is older
        Assert.All(recent.Runs, r => Assert.Equal(1, r.Attempts));
        Assert.True(recent.Runs[0].StartedAt >= recent.Runs[^1].StartedAt, "newest first");

        restarted.Tell(new Tick(13)); // tick numbers continue
        Assert.Equal(13, second.Events.ExpectMsg<PeriodicTaskStarted>(Wait).Tick);
        await second.SettleAsync(restarted, "every-tick", 13);
        Assert.Equal(13, (await restarted.Ask<RecentRunsReport>(new GetRecentRuns("every-tick"), Wait)).Runs[0].Tick);
        Assert.Equal(13, (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["every-tick"].Runs);
    }

    public async Task Ten_thousand_tasks_recover_their_places_from_a_snapshot()
    {
        var name = NewSetName();
        PeriodicTaskSet Set()
        {
            var set = new PeriodicTaskSet(name);
            for (var i = 0; i < 10_000; i++)
                set.Add("t" + i, _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 1_000_000 });
            return set;
        }

        using (var first = Start(name, extra: "actor-scheduler.state.snapshot-every = 1"))
        {
            var keeper = first.Keeper(Set(), withTicker: false);
            keeper.Tell(new Tick(0));
            keeper.Tell(new Tick(1));
            await keeper.Ask<Ticked>(new NotifyWhenTicked(1), Wait);
            await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
            // The snapshot is saved after the event that triggers it, asynchronously: wait until it covers the last event.
            var deadline = DateTime.UtcNow + Wait;
            while (await first.RecoverAsync(name, fromSnapshot: true) is var saved && saved.SnapshotSequenceNr < saved.HighestSequenceNr)
            {
                Assert.True(DateTime.UtcNow < deadline, $"no snapshot of event {saved.HighestSequenceNr} within {Wait} (the last one is of {saved.SnapshotSequenceNr})");
                await Task.Delay(100);
            }
        }

        using var second = Start(name, extra: "actor-scheduler.state.snapshot-every = 1");
        var recovery = await second.RecoverAsync(name, fromSnapshot: true);
        Assert.Equal((recovery.HighestSequenceNr, 0L), (recovery.SnapshotSequenceNr, recovery.EventsReplayed)); // the snapshot alone
        var tasks = Set();
        var restarted = second.Keeper(tasks, withTicker: false);
        var stats = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
        Assert.Equal(10_000, stats.Tasks.Count);
        Assert.Equal(1_000_001, stats["t0"].NextDueTick); // the place was recovered: due 1,000,001 ticks after tick 0 (numbers continue)
    }

    public async Task A_snapshot_replaces_the_journal_events_before_it_and_recovery_starts_from_it()
    {
        var name = NewSetName();
        var set = () => new PeriodicTaskSet(name).Add("count", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 1 });
        using (var first = Start(name, extra: "actor-scheduler.state.snapshot-every = 4"))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            for (var tick = 0; tick <= 8; tick++)
            {
                // One tick at a time, each written before the next: what arrives together would be one journal event.
                keeper.Tell(new Tick(tick));
                await keeper.Ask<Ticked>(new NotifyWhenTicked(tick), Wait);
                await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
            }

            await first.SettleAsync(keeper, "count", 8);

            // The snapshot and the deletions follow the event that triggers them, asynchronously: wait for them here.
            var deadline = DateTime.UtcNow + Wait;
            while (!Trimmed(await first.RecoverAsync(name, fromSnapshot: true), await first.RecoverAsync(name, fromSnapshot: false)))
            {
                Assert.True(DateTime.UtcNow < deadline, $"the journal was not trimmed up to the last snapshot within {Wait}");
                await Task.Delay(100);
            }
        }

        using var second = Start(name);
        var fromSnapshot = await second.RecoverAsync(name, fromSnapshot: true);
        var wholeJournal = await second.RecoverAsync(name, fromSnapshot: false);
        Assert.True(fromSnapshot.SnapshotSequenceNr > 0, "no snapshot was offered");
        Assert.Equal(fromSnapshot.HighestSequenceNr - fromSnapshot.SnapshotSequenceNr, fromSnapshot.EventsReplayed);
        Assert.True(Trimmed(fromSnapshot, wholeJournal),
            $"{wholeJournal.EventsReplayed} of {wholeJournal.HighestSequenceNr} events are still in the journal; those up to the snapshot at {fromSnapshot.SnapshotSequenceNr} should be deleted");

        var restarted = second.Keeper(set(), withTicker: false);
        restarted.Tell(new Tick(9));
        var stats = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
        Assert.Equal(10, stats["count"].NextDueTick); // ran on tick 8: due on tick 10, after the restarted set's first tick 9
    }

    public async Task A_pause_with_its_note_and_until_survives_a_restart_and_the_task_is_not_run_while_paused_and_a_resume_is_kept_too()
    {
        var name = NewSetName();
        var set = () => new PeriodicTaskSet(name).Add("every-tick", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 0 });
        var until = DateTimeOffset.UtcNow.AddHours(1);

        using (var first = Start(name))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            keeper.Tell(new Tick(0));
            keeper.Tell(new Tick(1));
            Assert.Equal(1, first.Events.ExpectMsg<PeriodicTaskStarted>(Wait).Tick); // ticks 1, 2, 3, ...
            var paused = await keeper.Ask<TaskStats>(new PauseTask("every-tick", "db migration", until), Wait);
            Assert.True(paused.Paused);
            await first.SettleAsync(keeper, "every-tick", 1);
        }

        using (var second = Start(name))
        {
            var restarted = second.Keeper(set(), withTicker: false);
            var stats = (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["every-tick"];
            Assert.Equal((true, "db migration", until), (stats.Paused, stats.PauseNote, stats.PausedUntil));
            for (var tick = 2; tick <= 5; tick++) // tick numbers continue after the last recorded one (1)
                restarted.Tell(new Tick(tick));
            await restarted.Ask<Ticked>(new NotifyWhenTicked(5), Wait); // ticks 2 to 5 are processed
            var whilePaused = (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["every-tick"];
            Assert.Equal((1L, false), (whilePaused.Runs, whilePaused.Running)); // due on every tick, but paused
            Assert.InRange(whilePaused.SkippedWhilePaused, 3, 4);

            Assert.False((await restarted.Ask<TaskStats>(new ResumeTask("every-tick"), Wait)).Paused);
            await restarted.Ask<StateFlushed>(FlushState.Instance, Wait);
        }

        using var third = Start(name);
        var resumed = third.Keeper(set(), withTicker: false);
        Assert.False((await resumed.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["every-tick"].Paused);
        for (var tick = 6; tick <= 8; tick++)
            resumed.Tell(new Tick(tick));
        Assert.InRange(third.Events.ExpectMsg<PeriodicTaskStarted>(Wait).Tick, 6, 8); // runs again
    }

    public async Task A_calendar_task_keeps_its_next_occurrence_and_due_times_missed_while_stopped_coalesce_counted_as_missed()
    {
        var name = NewSetName();
        var set = () => new PeriodicTaskSet(name).Add("each-second", _ => { }, new PeriodicTaskOptions { Cron = "* * * * * *" });

        long lastTick;
        using (var first = Start(name))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            keeper.Tell(new Tick(0));
            await keeper.Ask<Ticked>(new NotifyWhenTicked(0), Wait);
            // The tick after the first occurrence (at most a second after the start): with no ticker, nothing wakes the
            // manager at the occurrence itself, which lies after its NextDueTick.
            lastTick = (await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["each-second"].NextDueTick!.Value + 1;
            keeper.Tell(new Tick(lastTick));
            Assert.Equal(lastTick, first.Events.ExpectMsg<PeriodicTaskStarted>(Wait).Tick);
            await first.SettleAsync(keeper, "each-second", lastTick);
        }

        // The downtime under test: at least 3 s, so at least one occurrence after the saved one (at most 2 s after the
        // start) passes.
        await Task.Delay(TimeSpan.FromSeconds(3));
        using var second = Start(name, typeof(PeriodicTaskMissed));
        var saved = (await second.RecoverAsync(name, fromSnapshot: true)).State.Places["each-second"].NextDueAt!.Value;
        var restarted = second.Keeper(set(), withTicker: false);
        restarted.Tell(new Tick(lastTick + 1));
        var missed = second.Events.ExpectMsg<PeriodicTaskMissed>(Wait);
        var run = second.Events.ExpectMsg<PeriodicTaskStarted>(Wait);
        Assert.Equal((lastTick + 1, lastTick + 1), (missed.Tick, run.Tick)); // one run at once for all of them: the kept occurrence had passed
        // Every occurrence (each whole second) after the saved one up to the restart: the saved one is the run's.
        var passed = (run.ScheduledAt - saved).Ticks / TimeSpan.TicksPerSecond;
        Assert.True(passed >= 1, $"{passed} occurrences counted from {saved:O} to the restart at {run.ScheduledAt:O}");
        Assert.Equal(passed, missed.Count);
        var stats = (await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))["each-second"];
        Assert.Equal(missed.Count, stats.Missed);
        Assert.True(stats.NextDueAt > run.ScheduledAt, $"next occurrence {stats.NextDueAt:O}, not after the coalesced run");
    }

    /// <summary>A snapshot exists and the journal holds no event from before it.</summary>
    public async Task Changes_made_at_run_time_come_back_after_a_restart_except_those_with_a_delegate_body()
    {
        var name = NewSetName();
        var set = () => new PeriodicTaskSet(name)
            .Add("updated", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 0 })
            .Add("removed", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 0 })
            .Add("redefined", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 0 });

        using (var first = Start(name))
        {
            var keeper = first.Keeper(set(), withTicker: false);
            var client = new PeriodicTaskClient(keeper, Wait);
            keeper.Tell(new Tick(0));
            await client.UpdateAsync("updated", new PeriodicTaskOptions { TicksBetweenRuns = 4 });
            await client.RemoveAsync("removed");
            await client.AddAsync<CountingTask>("typed", new PeriodicTaskOptions { TicksBetweenRuns = 0 });
            await client.AddAsync("delegate", (_, _) => ValueTask.CompletedTask);
            await client.ChangeAsync([new UpdateTask("redefined", new PeriodicTaskOptions { TicksBetweenRuns = 2 }, (_, _) => ValueTask.CompletedTask)]);
            keeper.Tell(new Tick(1));
            await keeper.Ask<Ticked>(new NotifyWhenTicked(1), Wait);
            await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
        }

        using var second = Start(name);
        var restarted = second.Keeper(set(), withTicker: false);
        var stats = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
        // The update and the removal are kept, and so is the task added by type; the two changes with a delegate body are not.
        Assert.Equal(["updated", "redefined", "typed"], stats.Tasks.Select(t => t.Task));
        Assert.Equal(new PeriodicTaskOptions { TicksBetweenRuns = 4 }.DescribeSchedule(Interval), stats["updated"].Schedule);
        Assert.Equal(new PeriodicTaskOptions { TicksBetweenRuns = 0 }.DescribeSchedule(Interval), stats["redefined"].Schedule);
        var runs = CountingTask.Runs(name + "/typed");
        restarted.Tell(new Tick(2)); // the restarted set's first tick (2): an every-tick task first runs on the tick after it
        restarted.Tell(new Tick(3));
        await WaitUntilAsync(() => CountingTask.Runs(name + "/typed") > runs, "the task added by type runs after the restart");
    }

    public async Task A_change_made_at_run_time_is_dropped_once_the_set_defines_its_task_differently()
    {
        var name = NewSetName();
        var set = (int ticks) => new PeriodicTaskSet(name).Add("task", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = ticks });

        using (var first = Start(name))
        {
            var keeper = first.Keeper(set(0), withTicker: false);
            keeper.Tell(new Tick(0));
            await new PeriodicTaskClient(keeper, Wait).UpdateAsync("task", new PeriodicTaskOptions { TicksBetweenRuns = 5 });
            await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
        }

        using (var second = Start(name)) // a new version of the set defines the task with 3 ticks between runs: it wins
        {
            var keeper = second.Keeper(set(3), withTicker: false);
            var stats = await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
            Assert.Equal(new PeriodicTaskOptions { TicksBetweenRuns = 3 }.DescribeSchedule(Interval), stats["task"].Schedule);
            await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
        }

        using var third = Start(name); // and the set as it was first does not bring the dropped change back
        var restarted = third.Keeper(set(0), withTicker: false);
        var again = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
        Assert.Equal(new PeriodicTaskOptions { TicksBetweenRuns = 0 }.DescribeSchedule(Interval), again["task"].Schedule);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(20);
        }
    }

    private static bool Trimmed(Recovered fromSnapshot, Recovered wholeJournal) =>
        fromSnapshot.SnapshotSequenceNr > 0 && wholeJournal.EventsReplayed <= wholeJournal.HighestSequenceNr - fromSnapshot.SnapshotSequenceNr;

    internal static string NewSetName() => "set" + Guid.NewGuid().ToString("N")[..12];

    internal Node Start(string setName, Type? alsoWatch = null, string extra = "")
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 100ms
              shutdown-timeout = 1s
            }
            {{backend.Hocon}}
            {{extra}}
            """);
        var system = ActorSystem.Create(
            "actor-scheduler", config.WithFallback(StateSerialization.Config).WithFallback(PeriodicTaskSettings.DefaultConfig()));
        var events = kit.CreateTestProbe(system);
        system.EventStream.Subscribe(events, typeof(PeriodicTaskStarted));
        if (alsoWatch is not null)
            system.EventStream.Subscribe(events, alsoWatch);
        return new Node(system, events, setName);
    }

    internal sealed class Node(ActorSystem system, TestProbe events, string setName) : IDisposable
    {
        public ActorSystem System { get; } = system;

        public TestProbe Events { get; } = events;

        public IActorRef Keeper(PeriodicTaskSet set, bool withTicker)
        {
            var settings = PeriodicTaskSettings.Create(System.Settings.Config, setName, ClusterConfiguration.Keys);
            var plugins = StatePlugins.Ensure(System, settings.State);
            return System.ActorOf(ScheduleKeeper.ManagerProps(
                "test/" + setName, setName, settings.Resolve(set), settings, plugins.Journal, plugins.Snapshot, withTicker));
        }

        /// <summary>Waits until the run of <paramref name="task"/> is (or is no longer) in flight and every report is written.</summary>
        public async Task SettleAsync(IActorRef keeper, string task, long tick, bool running = false)
        {
            await keeper.Ask<Ticked>(new NotifyWhenTicked(tick), Wait);
            var deadline = DateTime.UtcNow + Wait;
            while ((await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait))[task] is var stats
                   && (stats.Running != running || stats.Runs == 0))
            {
                Assert.True(DateTime.UtcNow < deadline, $"{task} did not settle (running = {stats.Running}, runs = {stats.Runs})");
                await Task.Delay(20);
            }

            await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
        }

        /// <summary>Appends <paramref name="evt"/> to the keeper's journal, as another process would have written it.</summary>
        public Task AppendAsync(string name, object evt)
        {
            var settings = PeriodicTaskSettings.Create(System.Settings.Config, setName, ClusterConfiguration.Keys);
            var plugins = StatePlugins.Ensure(System, settings.State);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            System.ActorOf(Props.Create(() => new JournalAppender("test/" + name, plugins.Journal, plugins.Snapshot, evt, done)));
            return done.Task.WaitAsync(Wait);
        }

        /// <summary>Recovers the keeper's persistence id read-only, from its snapshot or from the first journal event.</summary>
        public Task<Recovered> RecoverAsync(string name, bool fromSnapshot)
        {
            var settings = PeriodicTaskSettings.Create(System.Settings.Config, setName, ClusterConfiguration.Keys);
            var plugins = StatePlugins.Ensure(System, settings.State);
            var done = new TaskCompletionSource<Recovered>(TaskCreationOptions.RunContinuationsAsynchronously);
            System.ActorOf(Props.Create(() => new RecoveryProbe("test/" + name, plugins.Journal, plugins.Snapshot, fromSnapshot, done)));
            return done.Task.WaitAsync(Wait);
        }

        public void Dispose() => System.Terminate().Wait(Wait);
    }

    /// <summary>What a read-only recovery found, and the state it rebuilt from it, as a keeper would.</summary>
    internal sealed record Recovered(long SnapshotSequenceNr, long EventsReplayed, long HighestSequenceNr, ScheduleState State);

    /// <summary>Recovers a persistence id, then persists one event to it and stops.</summary>
    private sealed class JournalAppender : Akka.Persistence.UntypedPersistentActor
    {
        private readonly string _persistenceId;
        private readonly object _event;
        private readonly TaskCompletionSource _done;

        public JournalAppender(string persistenceId, string journal, string snapshot, object evt, TaskCompletionSource done)
        {
            _persistenceId = persistenceId;
            _event = evt;
            _done = done;
            JournalPluginId = journal;
            SnapshotPluginId = snapshot;
        }

        public override string PersistenceId => _persistenceId;

        protected override void OnRecover(object message)
        {
            if (message is Akka.Persistence.RecoveryCompleted)
                Persist(_event, _ =>
                {
                    _done.TrySetResult();
                    Context.Stop(Self);
                });
        }

        protected override void OnCommand(object message)
        {
        }
    }

    /// <summary>Replays a persistence id without writing anything, counting what recovery offers and applying it.</summary>
    private sealed class RecoveryProbe : Akka.Persistence.UntypedPersistentActor
    {
        private readonly string _persistenceId;
        private readonly bool _fromSnapshot;
        private readonly TaskCompletionSource<Recovered> _done;
        private readonly ScheduleState _state = new();
        private long _snapshot;
        private long _events;

        public RecoveryProbe(string persistenceId, string journal, string snapshot, bool fromSnapshot, TaskCompletionSource<Recovered> done)
        {
            _persistenceId = persistenceId;
            _fromSnapshot = fromSnapshot;
            _done = done;
            JournalPluginId = journal;
            SnapshotPluginId = snapshot;
        }

        public override string PersistenceId => _persistenceId;

        public override Akka.Persistence.Recovery Recovery =>
            _fromSnapshot ? Akka.Persistence.Recovery.Default : new Akka.Persistence.Recovery(Akka.Persistence.SnapshotSelectionCriteria.None);

        protected override void OnRecover(object message)
        {
            switch (message)
            {
                case Akka.Persistence.SnapshotOffer offer:
                    _snapshot = offer.Metadata.SequenceNr;
                    if (offer.Snapshot is ScheduleSnapshot snapshot)
                        _state.Apply(snapshot);
                    break;
                case Akka.Persistence.RecoveryCompleted:
                    _done.TrySetResult(new Recovered(_snapshot, _events, LastSequenceNr, _state));
                    Context.Stop(Self);
                    break;
                default:
                    _events++;
                    _state.Apply(message);
                    break;
            }
        }

        protected override void OnCommand(object message)
        {
        }
    }
}
