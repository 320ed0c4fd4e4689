using ActorScheduler.Actors;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Xunit;

namespace ActorScheduler.Tests;

public class SmokeTests : TestKit
{
    public SmokeTests() : base("akka.loglevel = DEBUG") { }

    [Fact]
    public async Task Runs_on_sent_ticks()
    {
        var ran = new List<long>();
        var set = new PeriodicTaskSet("smoke").Add("t", c => { lock (ran) ran.Add(c.Tick); }, new PeriodicTaskOptions { TicksBetweenRuns = 1 });
        var m = Sys.ActorOf(PeriodicTaskManager.Props(set, PeriodicTaskSettings.Create(), withTicker: false));
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskSucceeded));
        for (var i = 0; i <= 4; i++) m.Tell(new Tick(i));
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskEvent)); var all = ReceiveWhile<object>(TimeSpan.FromSeconds(2), o => o); foreach (var o in all) Console.WriteLine("GOT " + o);
        ExpectMsg<PeriodicTaskSucceeded>().Tick.ShouldBe(4);
        var s = await m.Ask<TaskStatsReport>(GetTaskStats.Instance);
        Assert.Equal(2, s["t"].Runs);
    }
}
static class X { public static void ShouldBe<T>(this T a, T b) => Assert.Equal(b, a); }
