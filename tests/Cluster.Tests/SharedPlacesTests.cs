using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.DistributedData;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// docs/cluster.md, "State: each task's place in its schedule": without a state store, the owners of cluster tasks keep
/// each task's place in the cluster's memory (Akka.DistributedData), so that the next owner continues the schedule
/// after a hand-over or a crash instead of starting it afresh.
/// </summary>
public sealed class SharedPlacesTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static string Hocon(string tasks) => $$"""
        akka.cluster.distributed-data.gossip-interval = 500ms
        actor-scheduler {
          periodic-interval = 100ms
          initial-delay = 100ms
          shutdown-timeout = 1s
          tasks { {{tasks}} }
        }
        """;

    private static PeriodicTaskSet Set() => new PeriodicTaskSet("jobs")
        .Add("hourly", _ => { })
        .Add("often", _ => { });

    private const string Tasks = """
        hourly { scope = cluster, spacing = 1h, run-immediately = on }
        often { scope = cluster, spacing = 300ms }
        """;

    [Fact]
    public void A_task_continues_on_its_grid_after_the_last_dispatch_and_only_for_the_schedule_it_was_written_for()
    {
        var tasks = new List<PeriodicTaskDefinition>
        {
            Definition("hourly", new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1) }),
            Definition("half-past", new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1) }),
            Definition("counted", new PeriodicTaskOptions { TicksBetweenRuns = 9 }),
            Definition("calendar", new PeriodicTaskOptions { Cron = "0 * * * *" }),
            Definition("changed", new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(10) }),
        };
        string Entry(string task, PlaceReport place, long tickBase = 0) =>
            SharedPlaces.Entry(tasks.Single(t => t.Name == task).Options, place, tickBase)!;
        var entries = new Dictionary<string, string>
        {
            [SharedPlaces.LastTickEntry] = SharedPlaces.Progress(41, At), // tick 41, the last that dispatched a run, at 12:00
            ["hourly"] = Entry("hourly", new PlaceReport("hourly", 50, At.AddHours(1), At)), // ran at 12:00
            ["half-past"] = Entry("half-past", new PlaceReport("half-past", 38, At.AddMinutes(30), At.AddMinutes(-30))),
            ["counted"] = Entry("counted", new PlaceReport("counted", 25, null, At), tickBase: 20), // due on tick 45
            ["calendar"] = Entry("calendar", new PlaceReport("calendar", null, At.AddHours(1), At)),
            ["changed"] = Entry("changed", new PlaceReport("changed", 50, At.AddMinutes(10), At)).Replace("spacing:", "spacing:1"),
        };

        var restored = SharedPlaces.Restore(entries, tasks, out var lastTick)!;

        Assert.Equal(41, lastTick);
        Assert.Equal(new RestoredPlace(null, At.AddHours(1), null), restored["hourly"]);
        Assert.Equal(new RestoredPlace(null, At.AddMinutes(30), null), restored["half-past"]);
        Assert.Equal(new RestoredPlace(45 - 42, null, null), restored["counted"]); // ticks left after tick 41
        Assert.Equal(new RestoredPlace(null, At.AddHours(1), null), restored["calendar"]);
        Assert.False(restored.ContainsKey("changed")); // another schedule: the task starts afresh
        Assert.Null(SharedPlaces.Restore(new Dictionary<string, string> { ["hourly"] = entries["hourly"] }, tasks, out _)); // no progress: a first start
    }

    [Fact]
    public void An_entry_stays_the_same_from_run_to_run_so_that_a_tick_writes_little()
    {
        var hourly = new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1) };
        var counted = new PeriodicTaskOptions { TicksBetweenRuns = 9 };
        Assert.Equal(SharedPlaces.Entry(hourly, new PlaceReport("h", 10, At.AddHours(1), At), 0),
            SharedPlaces.Entry(hourly, new PlaceReport("h", 46, At.AddHours(2), At.AddHours(1)), 0));
        Assert.Equal(SharedPlaces.Entry(counted, new PlaceReport("c", 15, null, At), 0), SharedPlaces.Entry(counted, new PlaceReport("c", 5, null, At), 10));
        Assert.NotEqual(SharedPlaces.Entry(counted, new PlaceReport("c", 15, null, At), 0), SharedPlaces.Entry(counted, new PlaceReport("c", 16, null, At), 0));
        Assert.Null(SharedPlaces.Entry(hourly, new PlaceReport("h", null, null, At), 0)); // disabled: nothing to keep
    }

    [Fact]
    public async Task After_a_graceful_leave_the_next_owner_continues_the_schedule_instead_of_starting_it_afresh() =>
        await Moves(leave: true);

    [Fact]
    public async Task After_a_crash_the_next_owner_continues_the_schedule_the_cluster_had_before_it() =>
        await Moves(leave: false);

    /// <summary>
    /// hourly runs at once on its first owner (run-immediately), then not for an hour: its next owner, which would run it
    /// at once on a first start, finds its place and does not.
    /// </summary>
    private async Task Moves(bool leave)
    {
        using var cluster = new TestCluster(Hocon(Tasks));
        await cluster.FormAsync(0, 1, 2);
        for (var i = 0; i < 3; i++)
            cluster[i].StartClusterPeriodicTasks(Set());
        await TestCluster.WaitUntilAsync(() => Starts(cluster, "hourly", 0) == 1 && Starts(cluster, "often", 0) >= 3,
            TimeSpan.FromSeconds(60), "hourly and often run on node 0");
        // Distributed data's gossip carries the places to the others (here every 500 ms); the crash comes once it has.
        await TestCluster.WaitUntilAsync(() => Spread(cluster, 1) && Spread(cluster, 2), TimeSpan.FromSeconds(60), "the places on nodes 1 and 2");

        if (leave)
            await cluster.LeaveAsync(0);
        else
            await cluster.KillAsync(0);
        await TestCluster.WaitUntilAsync(() => Starts(cluster, "often", 1) + Starts(cluster, "often", 2) >= 5,
            TimeSpan.FromSeconds(60), "often runs on the next owner");

        var hourly = cluster.Events.Where(e => e.Event is PeriodicTaskStarted { Task: "hourly" }).Select(e => e.Node).ToList();
        output.WriteLine($"hourly started on nodes {string.Join(", ", hourly)}");
        Assert.Equal([0], hourly);
    }

    /// <summary>True when <paramref name="node"/>'s replicator has hourly's entry and the owner's progress.</summary>
    private static bool Spread(TestCluster cluster, int node)
    {
        var replicator = DistributedData.Get(cluster[node]).Replicator;
        bool Has(string key, string entry) =>
            replicator.Ask<IGetResponse>(Dsl.Get(new LWWDictionaryKey<string, string>(key), ReadLocal.Instance), TimeSpan.FromSeconds(5))
                .Result is GetSuccess found && found.Get(new LWWDictionaryKey<string, string>(key)).ContainsKey(entry);
        var id = ClusterPeriodicTasks.ClusterPersistenceId("jobs", "");
        return Has(id + "/places-0", "hourly") && Has(id + "/progress", SharedPlaces.LastTickEntry);
    }

    private static int Starts(TestCluster cluster, string task, int node) =>
        cluster.Events.Count(e => e.Node == node && e.Event is PeriodicTaskStarted s && s.Task == task);

    private static PeriodicTaskDefinition Definition(string name, PeriodicTaskOptions options) =>
        PeriodicTaskDefinition.FromCode(name, (_, _) => ValueTask.CompletedTask, options);
}
