// The complete cluster example of docs/cluster.md ("Akka.Hosting"). ClusterExampleTests runs it on one node and checks
// that the document shows exactly the code between the markers.
// cluster-example-begin
using ActorScheduler;
using ActorScheduler.Hosting;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var port = int.Parse(args.Length > 0 ? args[0] : "4053");
var host = Host.CreateDefaultBuilder(args)
    .ConfigureServices(services => services
        .AddPeriodicTaskClients() // PeriodicTaskClient<ComputeManager>: this node's tasks and the cluster tasks
        .AddAkka("actor-scheduler", (builder, _) => builder
            .WithRemoting("127.0.0.1", port)
            .WithClustering(new ClusterOptions
            {
                SeedNodes = ["akka.tcp://actor-scheduler@127.0.0.1:4053", "akka.tcp://actor-scheduler@127.0.0.1:4054"],
                Roles = ["worker"],
            })
            .AddHocon("""
                akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                akka.cluster.split-brain-resolver { active-strategy = keep-majority, stable-after = 7s }
                akka.cluster.run-coordinated-shutdown-when-down = on
                """, HoconAddMode.Prepend)
            .WithPeriodicTaskState("SQLite.MS", "Data Source=scheduler.db")
            .WithClusterPeriodicTasks<ComputeManager>(options =>
            {
                options.PeriodicInterval = TimeSpan.FromSeconds(60);
                options.FuzzyDelay = TimeSpan.FromSeconds(5);
            })))
    .Build();

await host.StartAsync();
var client = host.Services.GetRequiredService<PeriodicTaskClient<ComputeManager>>();
try
{
    // Waits, up to the client's timeout (10 s), for this node to join the cluster and reach the singleton.
    var heal = await client.GetTaskAsync("HealInstanceInfoCache");
    Console.WriteLine($"HealInstanceInfoCache: {heal.Runs} runs, {heal.Missed} missed, next due {heal.NextDueAt:u}");
}
catch (TaskSetNotReadyException e)
{
    // Alone on port 4054 (the second seed), this node waits for 4053 to form the cluster.
    Console.WriteLine($"cluster tasks not reachable yet: {e.Message}");
}

await host.WaitForShutdownAsync();

public sealed class ComputeManager
{
    // On every node: each compute host reports its own power states.
    [PeriodicTask(TicksBetweenRuns = 10)]
    public void SyncPowerStates(PeriodicTaskContext context) => context.Log.Info("syncing power states");

    // Once per cluster, on one node with the worker role; never two runs at once, even across a fail-over.
    [PeriodicTask(Spacing = "10m", Timeout = "5m", Scope = TaskScope.Cluster, Role = "worker")]
    public async Task HealInstanceInfoCache(CancellationToken token) => await Task.Delay(100, token);
}
// cluster-example-end
