using System.Diagnostics;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Cluster.Tests;

/// <summary>The client of a cluster set: stats merged from this node and the singleton, controls through the proxy.</summary>
public sealed class ClusterClientTests(ITestOutputHelper output)
{
    /// <summary>A cluster task and a node task, each due on every tick.</summary>
    internal const string Hocon = """
        actor-scheduler {
          periodic-interval = 100ms
          initial-delay = 100ms
          shutdown-timeout = 1s
          tasks {
            report { scope = cluster, ticks-between-runs = 0 }
            heartbeat { scope = node, ticks-between-runs = 0 }
          }
        }
        """;

    internal static PeriodicTaskSet Set() => new PeriodicTaskSet("jobs")
        .Add("report", (_, _) => ValueTask.CompletedTask)
        .Add("heartbeat", (_, _) => ValueTask.CompletedTask);

    [Fact]
    public async Task A_client_on_another_node_pauses_triggers_and_resumes_a_cluster_task_through_the_proxy()
    {
        using var cluster = new TestCluster(Hocon);
        await cluster.FormAsync(0, 1);
        var sets = Enumerable.Range(0, 2).Select(i => cluster[i].StartClusterPeriodicTasks(Set())).ToList();
        var client = sets[1].Client(TimeSpan.FromSeconds(10)); // the singleton is on node 0, the oldest: every control crosses the network

        var stats = await client.GetStatsAsync();
        Assert.Equal(["heartbeat", "report"], stats.Tasks.Select(t => t.Task));
        var until = DateTimeOffset.UtcNow.AddHours(1);
        var paused = await client.PauseAsync("report", "maintenance", until);
        Assert.Equal((true, "maintenance", until), (paused.Paused, paused.PauseNote, paused.PausedUntil));
        var runs = paused.Runs;
        await TestCluster.WaitUntilAsync(() => client.GetTaskAsync("report").Result.SkippedWhilePaused >= 3, TimeSpan.FromSeconds(10), "due ticks skipped");
        var merged = await client.GetStatsAsync();
        Assert.True(merged["report"].Paused);
        Assert.False(merged["heartbeat"].Paused);
        Assert.Equal(runs, merged["report"].Runs); // not run while paused

        var triggered = await client.TriggerAsync("report"); // a paused task runs when triggered
        Assert.True(triggered.Started);
        await TestCluster.WaitUntilAsync(() => client.GetTaskAsync("report").Result.Runs == runs + 1, TimeSpan.FromSeconds(10), "the triggered run");
        Assert.Contains(cluster.Events, e => e.Node == 0 && e.Event is PeriodicTaskStarted { Task: "report" });
        Assert.DoesNotContain(cluster.Events, e => e.Node == 1 && e.Event is PeriodicTaskStarted { Task: "report" });

        Assert.False((await client.ResumeAsync("report")).Paused);
        await TestCluster.WaitUntilAsync(() => client.GetTaskAsync("report").Result.Runs > runs + 2, TimeSpan.FromSeconds(10), "runs after the resume");

        var notFound = await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => client.PauseAsync("reprot"));
        Assert.Equal("reprot", notFound.TaskName);
        Assert.Contains("did you mean 'report'?", notFound.Message);
        await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => client.TriggerAsync("nope"));

        // The singleton's not-found refusal loses its exception crossing the network: a plain ask gets a cancelled task
        // (not a timeout). The client, even of the proxy alone, reports the unknown name from the stats.
        await Assert.ThrowsAsync<TaskCanceledException>(() => sets[1].ClusterTasks[""].Ask<TaskStats>(new PauseTask("nope"), TimeSpan.FromSeconds(30)));
        var proxyOnly = new PeriodicTaskClient(sets[1].ClusterTasks[""], TimeSpan.FromSeconds(10));
        var unknown = await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => proxyOnly.PauseAsync("nope"));
        Assert.Equal(("jobs", "nope"), (unknown.SetName, unknown.TaskName));
        Assert.StartsWith("no task named 'nope' in task set 'jobs'", unknown.Message);
        Assert.Equal("nope", (await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => proxyOnly.TriggerAsync("nope"))).TaskName);
        // An ArgumentException does cross the network: a pause whose until has passed is refused naming the bad input.
        foreach (var refusing in new[] { client, proxyOnly })
        {
            var refused = await Assert.ThrowsAsync<ArgumentException>(() => refusing.PauseAsync("report", "late", DateTimeOffset.UtcNow.AddHours(-1)));
            Assert.Equal("until", refused.ParamName);
            Assert.StartsWith("until: ", refused.Message);
            Assert.Contains(" is not in the future (now is ", refused.Message);
        }

        Assert.False((await client.GetTaskAsync("report")).Paused); // the refused pause changed nothing
        Assert.True((await proxyOnly.ResumeAsync("report")).Enabled);
    }

    [Fact]
    public async Task A_client_on_a_node_whose_cluster_is_not_formed_gets_TaskSetNotReadyException_after_its_timeout()
    {
        using var cluster = new TestCluster(Hocon);
        var system = cluster.StartUnjoined(0);
        var client = system.StartClusterPeriodicTasks(Set()).Client(TimeSpan.FromSeconds(2));

        // It waits its timeout (not less), then gives up with the error that says so; how long after is the machine's.
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<TaskSetNotReadyException>(() => client.GetStatsAsync());
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.9), $"gave up after {watch.Elapsed.TotalSeconds:F1} s, before its 2 s timeout");
        output.WriteLine($"TaskSetNotReadyException after {watch.Elapsed.TotalSeconds:F1} s");
        Assert.StartsWith("the task set did not answer within 2s: it is not ready yet (in a cluster: this node is not Up yet", error.Message);
        await Assert.ThrowsAsync<TaskSetNotReadyException>(() => client.PauseAsync("report"));
    }
}
