using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
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
        Props Keeper() => ScheduleKeeper.Props("test/batch", "batch", settings.Resolve(set), settings, plugins.Journal, plugins.Snapshot, withTicker: false);
        var keeper = Sys.ActorOf(Keeper());
        keeper.Tell(new Tick(0));
        await keeper.Ask<Ticked>(new NotifyWhenTicked(0), Wait);
        await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
        var before = DeleteRecordingJournal.EventsOf("test/batch");

        keeper.Tell(new Tick(1)); // all 200 tasks are due: one tick record, 200 starts, 200 ends
        await keeper.Ask<Ticked>(new NotifyWhenTicked(1), Wait);
        await AwaitConditionAsync(async () =>
            (await keeper.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait)).Tasks.All(t => t.Runs == 1 && !t.Running), Wait);
        await keeper.Ask<StateFlushed>(FlushState.Instance, Wait);
        // How many events carried the 401 records depends on timing (what had arrived when the keeper wrote): shown, not
        // asserted. The benchmark measures what it saves.
        Output?.WriteLine($"401 records in {DeleteRecordingJournal.EventsOf("test/batch") - before} journal event(s)");
        await keeper.GracefulStop(Wait);

        var restarted = Sys.ActorOf(Keeper());
        var stats = await restarted.Ask<TaskStatsReport>(GetTaskStats.Instance, Wait);
        Assert.All(stats.Tasks, t => Assert.Equal((1L, 1L), (t.Runs, t.Succeeded))); // every end was kept
        Assert.Equal(2, stats.Tasks[0].NextDueTick); // tick numbers continue after tick 1
        var recent = await restarted.Ask<RecentRunsReport>(new GetRecentRuns("t199"), Wait);
        Assert.Equal([1L], recent.Runs.Select(r => r.Tick));
    }

    [Fact]
    public async Task Old_events_are_deleted_one_deletion_at_a_time_and_a_failed_deletion_is_tried_again()
    {
        DeleteRecordingJournal.ResetDeletions();
        DeleteRecordingJournal.Refuse = true;
        var settings = PeriodicTaskSettings.Create(Sys.Settings.Config, "trim", ClusterConfiguration.Keys);
        var plugins = StatePlugins.Ensure(Sys, settings.State);
        var set = new PeriodicTaskSet("trim").Add("count", _ => { });
        var keeper = Sys.ActorOf(ScheduleKeeper.Props(
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

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Written = new();

        /// <summary>How many journal events of <paramref name="persistenceId"/> were written.</summary>
        public static int EventsOf(string persistenceId) => Written.GetValueOrDefault(persistenceId);

        protected override Task<System.Collections.Immutable.IImmutableList<Exception>> WriteMessagesAsync(
            IEnumerable<Akka.Persistence.AtomicWrite> messages, CancellationToken cancellationToken)
        {
            var writes = messages.ToList();
            foreach (var write in writes)
                Written.AddOrUpdate(write.PersistenceId, write.Size, (_, n) => n + write.Size);
            return base.WriteMessagesAsync(writes, cancellationToken);
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
}
