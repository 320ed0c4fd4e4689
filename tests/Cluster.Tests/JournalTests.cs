using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Journal;
using Akka.TestKit.Xunit2;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// How the keeper uses its journal: what is reported together is written as one event; after each snapshot the events
/// (and snapshots) before it are deleted one deletion at a time, and a failed deletion is tried again, so a store that
/// refuses a deletion once (PostgreSQL's 40P01) still ends up trimmed.
/// </summary>
public sealed class JournalTests(ITestOutputHelper output) : TestKit(Config, output: output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static Akka.Configuration.Config Config => ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        actor-scheduler.state {
          journal-plugin = "journal-tests-journal"
          snapshot-plugin = "akka.persistence.snapshot-store.inmem"
          snapshot-every = 2
        }
        journal-tests-journal {
          class = "{{typeof(DeleteRecordingJournal).AssemblyQualifiedName}}"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        """).WithFallback(PeriodicTaskSettings.DefaultConfig());

    [Fact]
    public async Task Every_record_of_a_tick_written_together_is_kept_and_a_restarted_keeper_recovers_all_of_them()
    {
        var settings = PeriodicTaskSettings.Create(Sys.Settings.Config, "batch", ClusterConfiguration.Keys);
        var plugins = StatePlugins.Ensure(Sys, settings.State);
        var set = new PeriodicTaskSet("batch");
        for (var i = 0; i < 200; i++)
            set.Add("t" + i, _ => { });
        Props Keeper() => ScheduleKeeper.ManagerProps("test/batch", "batch", settings.Resolve(set), settings, plugins.Journal, plugins.Snapshot, withTicker: false);
        var keeper = Sys.ActorOf(Keeper());
        keeper.Tell(new Tick(0));
        await keeper.Ask<Ticked>(new NotifyWhenTicked(0), Wait);
        await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);

        keeper.Tell(new Tick(1)); // all 200 tasks are due: one tick record, 200 starts, 200 ends
        await keeper.Ask<Ticked>(new NotifyWhenTicked(1), Wait);
        await AwaitConditionAsync(async () =>
            (await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait)).Tasks.All(t => t.Runs == 1 && !t.Running), Wait);
        await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
        await keeper.GracefulStop(Wait);

        var restarted = Sys.ActorOf(Keeper());
        var stats = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
        Assert.All(stats.Tasks, t => Assert.Equal((1L, 1L), (t.Runs, t.Succeeded))); // every end was kept
        Assert.Equal(2, stats.Tasks[0].NextDueTick); // tick numbers continue after tick 1
        var recent = await restarted.Ask<RecentRunsReport>(new GetRecentRuns("t199"), Wait);
        Assert.Equal([1L], recent.Runs.Select(r => r.Tick));
    }

    [Fact]
    public async Task Records_in_the_keepers_mailbox_together_are_written_together_in_events_of_at_most_500_and_a_lone_record_as_itself()
    {
        const string id = "test/together";
        var settings = PeriodicTaskSettings.Create(Sys.Settings.Config, "together", ClusterConfiguration.Keys);
        var plugins = StatePlugins.Ensure(Sys, settings.State);
        var names = Enumerable.Range(0, 2400).Select(i => "t" + i).ToList();
        var set = new PeriodicTaskSet("together");
        foreach (var name in names)
            set.Add(name, _ => { });
        Props Keeper() => ScheduleKeeper.ManagerProps(id, "together", settings.Resolve(set), settings, plugins.Journal, plugins.Snapshot, withTicker: false);

        // The keeper's recovery waits at the journal: what it is sent meanwhile is stashed, and all of it is back in its
        // mailbox at once when recovery ends. 2,400 reports that arrive together, whatever the machine's speed.
        var recovery = DeleteRecordingJournal.HoldRecovery(id);
        var keeper = Sys.ActorOf(Keeper());
        await recovery.Asked.Task.WaitAsync(Wait);
        var store = await Sys.ActorSelection(keeper.Path / "keeper").ResolveOne(Wait); // the manager's store child
        foreach (var name in names)
            store.Tell(new PauseRecorded(name, true, "note of " + name, null));
        recovery.Release();
        await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);

        var events = DeleteRecordingJournal.EventsOf(id);
        var batches = events.Select(e => Assert.IsType<RecordedBatch>(e)).ToList();
        Assert.Equal([500, 500, 500, 500, 400], batches.Select(b => b.Items.Count)); // one event per 500 records, none smaller but the last
        Assert.Equal(names, batches.SelectMany(b => b.Records()).Select(r => Assert.IsType<PauseRecorded>(r).Task)); // in their order

        // A record with nothing behind it is written at once, as itself.
        store.Tell(new PauseRecorded("t7", false, null, null));
        await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
        Assert.Equal(6, DeleteRecordingJournal.EventsOf(id).Count);
        Assert.Equal(new PauseRecorded("t7", false, null, null), DeleteRecordingJournal.EventsOf(id)[^1]);
        await keeper.GracefulStop(Wait);

        var restarted = Sys.ActorOf(Keeper());
        var stats = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
        Assert.Equal(names.Where(n => n != "t7"), stats.Tasks.Where(t => t.Paused).Select(t => t.Task));
        Assert.Equal("note of t2399", stats["t2399"].PauseNote);
    }

    [Fact]
    public async Task What_comes_while_a_write_is_in_flight_goes_together_in_the_next_write()
    {
        const string id = "test/next-write";
        var settings = PeriodicTaskSettings.Create(Sys.Settings.Config, "next-write", ClusterConfiguration.Keys);
        var plugins = StatePlugins.Ensure(Sys, settings.State);
        var set = new PeriodicTaskSet("next-write").Add("t", _ => { });
        var keeper = Sys.ActorOf(ScheduleKeeper.ManagerProps(id, "next-write", settings.Resolve(set), settings, plugins.Journal, plugins.Snapshot, withTicker: false));
        await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait); // recovered
        var store = await Sys.ActorSelection(keeper.Path / "keeper").ResolveOne(Wait);

        var write = DeleteRecordingJournal.HoldWrite(id);
        store.Tell(new PauseRecorded("first", true, null, null));
        await write.Asked.Task.WaitAsync(Wait); // the first record's write is in flight, and held there
        for (var i = 0; i < 300; i++)
            store.Tell(new PauseRecorded("next" + i, true, null, null));
        await Task.Delay(200); // time for the keeper to take all of them in while the write waits
        Assert.Single(DeleteRecordingJournal.EventsOf(id));
        write.Release();
        await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);

        var events = DeleteRecordingJournal.EventsOf(id);
        Assert.Equal(new PauseRecorded("first", true, null, null), events[0]);
        Assert.Equal(300, Assert.IsType<RecordedBatch>(Assert.Single(events.Skip(1))).Items.Count); // one write for all 300
    }

    [Fact]
    public async Task Old_events_are_deleted_one_deletion_at_a_time_and_a_failed_deletion_is_tried_again()
    {
        DeleteRecordingJournal.ResetDeletions();
        DeleteRecordingJournal.Refuse = true;
        var settings = PeriodicTaskSettings.Create(Sys.Settings.Config, "trim", ClusterConfiguration.Keys);
        var plugins = StatePlugins.Ensure(Sys, settings.State);
        var set = new PeriodicTaskSet("trim").Add("count", _ => { });
        var keeper = Sys.ActorOf(ScheduleKeeper.ManagerProps(
            "test/trim", "trim", settings.Resolve(set), settings, plugins.Journal, plugins.Snapshot, withTicker: false));

        for (var tick = 0; tick <= 8; tick++)
        {
            keeper.Tell(new Tick(tick));
            await keeper.Ask<Ticked>(new NotifyWhenTicked(tick), Wait);
            await keeper.Ask<StateFlushed>(FlushState.Instance, Wait); // a journal event per tick at least: snapshots follow
        }

        // The snapshots and deletions follow the events asynchronously: wait until they are over (a second without a
        // new deletion asked for, none in flight).
        var (requested, quietSince) = (-1L, DateTime.UtcNow);
        await AwaitConditionAsync(() =>
        {
            if (DeleteRecordingJournal.HighestRequested != requested)
                (requested, quietSince) = (DeleteRecordingJournal.HighestRequested, DateTime.UtcNow);
            return Task.FromResult(DeleteRecordingJournal.Refused > 0 && DeleteRecordingJournal.InFlight == 0
                && DateTime.UtcNow - quietSince > TimeSpan.FromSeconds(1));
        }, Wait, TimeSpan.FromMilliseconds(50));

        // Every deletion so far was refused and no more events come: only a retry can trim the journal now.
        Assert.Equal(0, DeleteRecordingJournal.HighestDeleted);
        DeleteRecordingJournal.Refuse = false;
        await AwaitConditionAsync(() => Task.FromResult(DeleteRecordingJournal.HighestDeleted >= requested), Wait,
            message: $"the journal was not trimmed up to {requested} after its deletions were refused");
        Assert.Equal(1, DeleteRecordingJournal.MostAtOnce);
    }

    /// <summary>A memory journal that counts the events written; its deletions take a while, can be refused, and are counted.</summary>
    internal sealed class DeleteRecordingJournal : MemoryJournal
    {
        private static int _inFlight;
        private static int _mostAtOnce;
        private static int _refused;
        private static long _highestRequested;
        private static long _highestDeleted;

        public static volatile bool Refuse;

        public static void ResetDeletions()
        {
            _mostAtOnce = _refused = 0;
            _highestRequested = _highestDeleted = 0;
        }

        public static int Refused => Volatile.Read(ref _refused);

        public static int InFlight => Volatile.Read(ref _inFlight);

        public static int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public static long HighestRequested => Interlocked.Read(ref _highestRequested);

        public static long HighestDeleted => Interlocked.Read(ref _highestDeleted);

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, List<object>> Written = new();

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, RecoveryHold> Held = new();

        /// <summary>The journal events written for <paramref name="persistenceId"/>, in order.</summary>
        public static IReadOnlyList<object> EventsOf(string persistenceId)
        {
            var events = Written.GetOrAdd(persistenceId, _ => []);
            lock (events)
                return events.ToList();
        }

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, RecoveryHold> HeldWrites = new();

        /// <summary>Makes the next recovery of <paramref name="persistenceId"/> wait at the journal until released.</summary>
        public static RecoveryHold HoldRecovery(string persistenceId) => Held[persistenceId] = new RecoveryHold();

        /// <summary>Makes the next write of <paramref name="persistenceId"/> wait (its events recorded) until released.</summary>
        public static RecoveryHold HoldWrite(string persistenceId) => HeldWrites[persistenceId] = new RecoveryHold();

        protected override async Task<System.Collections.Immutable.IImmutableList<Exception>> WriteMessagesAsync(
            IEnumerable<Akka.Persistence.AtomicWrite> messages, CancellationToken cancellationToken)
        {
            var writes = messages.ToList();
            foreach (var write in writes)
            {
                var events = Written.GetOrAdd(write.PersistenceId, _ => []);
                lock (events)
                    events.AddRange(((IEnumerable<Akka.Persistence.IPersistentRepresentation>)write.Payload).Select(p => p.Payload));
            }

            foreach (var write in writes)
            {
                if (HeldWrites.TryRemove(write.PersistenceId, out var hold))
                {
                    hold.Asked.TrySetResult();
                    await hold.Released.Task;
                }
            }

            return await base.WriteMessagesAsync(writes, cancellationToken);
        }

        public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
        {
            if (Held.TryRemove(persistenceId, out var hold))
            {
                hold.Asked.TrySetResult();
                await hold.Released.Task;
            }

            return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
        }

        protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _inFlight);
            InterlockedMax(ref _mostAtOnce, now);
            InterlockedMax(ref _highestRequested, toSequenceNr);
            try
            {
                await Task.Delay(100); // long enough for a second deletion to overlap if one were sent
                if (Refuse)
                {
                    Interlocked.Increment(ref _refused);
                    throw new InvalidOperationException("40P01: deadlock detected (refused by the test journal)");
                }

                await base.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken);
                InterlockedMax(ref _highestDeleted, toSequenceNr);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }

        private static void InterlockedMax(ref long target, long value)
        {
            long seen;
            while ((seen = Interlocked.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }

    /// <summary>A recovery held at the journal: <see cref="Asked"/> once the keeper asked, until <see cref="Release"/>.</summary>
    internal sealed class RecoveryHold
    {
        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => Released.TrySetResult();
    }
}
