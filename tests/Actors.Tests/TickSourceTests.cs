using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Configuration;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>The precise tick source on the real clock (bounded, with generous limits: it checks function, not speed).</summary>
public class PreciseTickSourceTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    [Fact]
    public async Task The_precise_source_delivers_consecutive_ticks_at_the_interval()
    {
        var settings = PeriodicTaskSettings.Create(ConfigurationFactory.ParseString(
            "actor-scheduler { periodic-interval = 20ms, tick-source = precise }"));
        var manager = Sys.ActorOf(PeriodicTasks.Props(new PeriodicTaskSet("precise").Add("t", _ => { }), settings));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await manager.Ask<Ticked>(new NotifyWhenTicked(10), TimeSpan.FromSeconds(10));
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(190), $"10 ticks of 20 ms took only {watch.Elapsed}");
        await manager.Ask<TasksStopped>(StopTasks.Instance);
        var stats = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
        var t = stats["t"];
        // Every due time of ticks 1..10 is accounted for: run, overrun (a run still in flight on a busy machine), or missed
        // (tick numbers the ticker skipped after a pause).
        Assert.True(t.Runs + t.Overruns + t.Missed >= 10, $"ticks 1..10 accounted for {t.Runs} runs, {t.Overruns} overruns, {t.Missed} missed");
    }
}

/// <summary>fuzzy-delay under virtual time.</summary>
public class FuzzyDelayTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    [Fact]
    public async Task Fuzzy_delay_adds_one_random_delay_within_its_bound_to_the_first_tick_only()
    {
        var start = Scheduler.Now;
        var manager = await StartManager(new PeriodicTaskSet("fuzzy").Add("t", _ => { }),
            "actor-scheduler { periodic-interval = 60s, fuzzy-delay = 10s }");
        var first = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"].NextDueAt!.Value - start;
        Assert.InRange(first, TimeSpan.FromSeconds(60) + TimeSpan.FromTicks(1), TimeSpan.FromSeconds(70)); // 60 s: ignored
        Subscribe<PeriodicTaskSucceeded>();
        Scheduler.Advance(first);
        Assert.Equal(1, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        Scheduler.Advance(TimeSpan.FromSeconds(60));
        var second = ExpectMsg<PeriodicTaskSucceeded>();
        Assert.Equal(2, second.Tick);
        Assert.Equal(first + TimeSpan.FromSeconds(60), second.ScheduledAt - start);
    }
}
