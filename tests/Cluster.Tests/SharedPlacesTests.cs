using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
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
    public void A_place_comes_back_as_written_and_only_for_the_schedule_it_was_written_for()
    {
        var tasks = new List<PeriodicTaskDefinition>
        {
            Definition("spaced", new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1) }),
            Definition("counted", new PeriodicTaskOptions { TicksBetweenRuns = 9 }),
            Definition("changed", new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(10) }),
        };
        var schedules = tasks.ToDictionary(t => t.Name, t => Persistence.ScheduleState.ScheduleKey(t.Options));
        var entries = new Dictionary<string, string>
        {
            [""] = "41", // the last tick, counted across owners
            ["spaced"] = SharedPlaces.Encode(schedules, new PlaceReport("spaced", 52, At.AddHours(1), At), tickBase: 0)!,
            ["counted"] = SharedPlaces.Encode(schedules, new PlaceReport("counted", 45, null, At), tickBase: 0)!,
            ["changed"] = SharedPlaces.Encode(schedules, new PlaceReport("changed", 50, At.AddMinutes(10), At), tickBase: 0)!.Replace("spacing:", "spacing:1"),
            ["gone"] = "whatever",
        };

        var restored = SharedPlaces.Restore(entries, tasks, out var lastTick)!;

        Assert.Equal(41, lastTick);
        Assert.Equal(new RestoredPlace(52 - 42, At.AddHours(1), null, At), restored["spaced"]);
        Assert.Equal(new RestoredPlace(45 - 42, null, null, At), restored["counted"]);
        Assert.False(restored.ContainsKey("changed")); // another schedule: the task starts afresh
        Assert.Null(SharedPlaces.Restore(new Dictionary<string, string>(), tasks, out _)); // nothing kept: a first start
        Assert.Null(SharedPlaces.Encode(schedules, new PlaceReport("added-at-run-time", 1, null, null), 0));
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
        await Task.Delay(TimeSpan.FromSeconds(5)); // distributed data's gossip (every 2 s) has carried the places to the others

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

    private static int Starts(TestCluster cluster, string task, int node) =>
        cluster.Events.Count(e => e.Node == node && e.Event is PeriodicTaskStarted s && s.Task == task);

    private static PeriodicTaskDefinition Definition(string name, PeriodicTaskOptions options) =>
        PeriodicTaskDefinition.FromCode(name, (_, _) => ValueTask.CompletedTask, options);
}
