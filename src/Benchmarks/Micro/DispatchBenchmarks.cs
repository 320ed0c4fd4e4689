using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Configuration;
using BenchmarkDotNet.Attributes;

namespace ActorScheduler.Benchmarks.Micro;

/// <summary>
/// The manager's dispatch path through the real actors: a tick sent to a manager of N tasks of which 10 are due on every
/// tick, until the manager has processed it (NotifyWhenTicked). <see cref="RoundTripOnly"/> is the same request for a
/// tick already processed: the difference is the cost of the tick itself. Allocations are for the whole process, so
/// they include the 10 runs started and ended on other threads (their contexts and events).
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private ActorSystem _system = null!;
    private IActorRef _manager = null!;
    private long _tick;

    [Params(1_000, 100_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING");
        _system = ActorSystem.Create("micro", config);
        var set = new PeriodicTaskSet("micro");
        for (var i = 0; i < Tasks; i++)
        {
            var options = i % (Tasks / 10) == 0 ? PeriodicTaskOptions.Default : new PeriodicTaskOptions { TicksBetweenRuns = 1_000_000 };
            set.Add("t" + i, (_, _) => ValueTask.CompletedTask, options);
        }

        _manager = _system.ActorOf(PeriodicTasks.Props(set, PeriodicTaskSettings.Create(config, "micro"), withTicker: false));
        _tick = 0;
        _manager.Tell(new Tick(_tick));
        _manager.Ask<Ticked>(new NotifyWhenTicked(_tick), TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    [Benchmark(Baseline = true, Description = "Ask round trip, no tick")]
    public Task<Ticked> RoundTripOnly() => _manager.Ask<Ticked>(new NotifyWhenTicked(_tick), TimeSpan.FromSeconds(10));

    [Benchmark(Description = "Tick (10 of N due) + round trip")]
    public Task<Ticked> TickAndRoundTrip()
    {
        _manager.Tell(new Tick(++_tick));
        return _manager.Ask<Ticked>(new NotifyWhenTicked(_tick), TimeSpan.FromSeconds(10));
    }
}
