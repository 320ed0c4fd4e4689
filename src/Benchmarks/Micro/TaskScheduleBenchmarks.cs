using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using BenchmarkDotNet.Attributes;

namespace ActorScheduler.Benchmarks.Micro;

/// <summary>
/// The skip table alone: one tick over N registered tasks of which 10 are due on every tick and the rest once in a
/// million ticks. The time should not grow with N, and a tick should allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class TaskScheduleBenchmarks
{
    private readonly List<DueRun> _due = new(64);
    private TaskSchedule _schedule = null!;
    private long _tick;

    [Params(1_000, 100_000)]
    public int Tasks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new List<PeriodicTaskOptions>(Tasks);
        for (var i = 0; i < Tasks; i++)
            options.Add(i % (Tasks / 10) == 0 ? PeriodicTaskOptions.Default : new PeriodicTaskOptions { TicksBetweenRuns = 1_000_000 });
        _schedule = new TaskSchedule(options, new TickClock(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)), DateTimeOffset.UnixEpoch);
        _tick = 0;
    }

    [Benchmark(Description = "Advance one tick (10 due)")]
    public int AdvanceOneTick()
    {
        _due.Clear();
        _schedule.Advance(++_tick, _due);
        return _due.Count;
    }
}
