// The README's "Testing your own periodic tasks" example, compiled and run as a test. ReadmeTests checks that the
// README shows exactly the code between the markers.
// readme-example-begin
using ActorScheduler;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit;

namespace MyService.Tests;

public class InventoryManager
{
    public int Reconciled;

    [PeriodicTask(TicksBetweenRuns = 4)] // runs on ticks 5, 10, 15, ...
    public void ReconcileInventory() => Interlocked.Increment(ref Reconciled);
}

public class InventoryManagerTests()
    : TestKit("""akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit" """)
{
    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    [Fact]
    public async Task Reconciles_on_every_fifth_tick()
    {
        var inventory = new InventoryManager();
        var set = new PeriodicTaskSet("inventory").AddTasksOf(inventory);
        var settings = PeriodicTaskSettings.Create(ConfigurationFactory.ParseString("actor-scheduler.periodic-interval = 1m"));
        var manager = Sys.ActorOf(PeriodicTasks.Props(set, settings));
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskSucceeded));
        await manager.Ask<Ticked>(new NotifyWhenTicked(0)); // tick 0 done: the ticker's timer is armed

        await AdvanceTo(manager, tick: 5);
        Assert.Equal(5, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        await AdvanceTo(manager, tick: 10);
        Assert.Equal(10, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        Assert.Equal(2, inventory.Reconciled);
    }

    // One interval at a time: a single Advance fires a periodic timer at most once.
    private async Task AdvanceTo(IActorRef manager, long tick)
    {
        var now = (await manager.Ask<Ticked>(new NotifyWhenTicked(0))).Tick;
        for (var next = now + 1; next <= tick; next++)
        {
            Scheduler.Advance(TimeSpan.FromMinutes(1));
            await manager.Ask<Ticked>(new NotifyWhenTicked(next));
        }
    }
}
// readme-example-end
