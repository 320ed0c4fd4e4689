// A cluster node for process-level tests: joins the cluster its config file describes, runs task set "jobs" (one
// cluster-scoped and one node-scoped task, their options from the file), and prints one line per task event:
//   UP <address>
//   <event> <task> <tick> <time-utc-ticks> [<count>]
// It runs until killed, or until the cluster downs it.
using ActorScheduler;
using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;

if (args.Length != 2 || args[0] != "--config")
{
    Console.Error.WriteLine("usage: ActorScheduler.Cluster.Node --config FILE");
    return 2;
}

var config = ConfigurationFactory.ParseString(File.ReadAllText(args[1]))
    .WithFallback(StateSerialization.Config)
    .WithFallback(PeriodicTaskSettings.DefaultConfig());
var system = ActorSystem.Create("actor-scheduler", config);
var output = TextWriter.Synchronized(Console.Out);
var runFor = TimeSpan.FromMilliseconds(config.GetInt("test-node.run-ms", 100));

system.ActorOf(Props.Create(() => new Printer(output)), "printer");
Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => output.WriteLine($"UP {Akka.Cluster.Cluster.Get(system).SelfAddress}"));

var set = new PeriodicTaskSet("jobs")
    .Add("cluster-job", async (_, _) => await Task.Delay(runFor, CancellationToken.None), new PeriodicTaskOptions { Scope = TaskScope.Cluster })
    .Add("node-job", _ => { });
system.StartClusterPeriodicTasks(set);
await system.WhenTerminated;
return 0;

internal sealed class Printer : ReceiveActor
{
    public Printer(TextWriter output)
    {
        Receive<PeriodicTaskEvent>(e =>
        {
            var time = e switch
            {
                PeriodicTaskStarted s => s.StartedAt,
                PeriodicTaskSucceeded s => s.StartedAt + s.Duration,
                _ => DateTimeOffset.UtcNow,
            };
            var count = e is PeriodicTaskMissed m ? " " + m.Count : "";
            output.WriteLine($"{e.EventName} {e.Task} {e.Tick} {time.UtcTicks}{count}");
        });
    }

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(PeriodicTaskEvent));
}
