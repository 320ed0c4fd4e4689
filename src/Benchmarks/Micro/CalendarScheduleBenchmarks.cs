using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using BenchmarkDotNet.Attributes;

namespace ActorScheduler.Benchmarks.Micro;

/// <summary>
/// Calendar tasks on the skip table. A year of 60 s ticks (525,600) over 100 tasks, a third of them calendar tasks in
/// three zones, against the same year with spaced tasks in their place (the baseline); goal: under 2 s. And one tick on
/// which a calendar task is due, which should allocate nothing once its next occurrence is computed.
/// </summary>
[MemoryDiagnoser]
[WarmupCount(1)]
[IterationCount(5)]
public class CalendarScheduleBenchmarks
{
    private const long TicksInAYear = 525_600;
    private static readonly TickClock Clock = new(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60));
    private static readonly DateTimeOffset Origin = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Crons = ["*/5 * * * *", "30 2 * * *", "0 */2 * * 1-5", "0 0 L * *", "15 9 * * MON#1", "*/30 * * * *"];
    private static readonly string[] Zones = ["UTC", "Europe/Berlin", "America/New_York"];

    private readonly List<DueRun> _due = new(128);

    [Benchmark(Baseline = true, Description = "A year of 60 s ticks, 100 tasks, no calendar task")]
    public long YearWithoutCalendarTasks() => RunYear(calendar: false);

    [Benchmark(Description = "A year of 60 s ticks, 100 tasks, 34 of them calendar tasks")]
    public long YearWithCalendarTasks() => RunYear(calendar: true);

    private long RunYear(bool calendar)
    {
        var schedule = new TaskSchedule(Tasks(calendar), Clock, Origin);
        long runs = 0;
        for (long tick = 0; tick <= TicksInAYear; tick++)
        {
            _due.Clear();
            schedule.Advance(tick, _due);
            runs += _due.Count;
        }

        return runs;
    }

    /// <summary>100 tasks: 33 tick-counted, 33 spaced, 34 calendar (or spaced in the baseline).</summary>
    internal static List<PeriodicTaskOptions> Tasks(bool calendar)
    {
        var tasks = new List<PeriodicTaskOptions>(100);
        for (var i = 0; i < 100; i++)
        {
            tasks.Add((i % 3) switch
            {
                0 => new PeriodicTaskOptions { TicksBetweenRuns = i % 10 },
                1 => new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(1 + i % 30) },
                _ when calendar => new PeriodicTaskOptions { Cron = Crons[i % Crons.Length], TimeZone = Zones[i % Zones.Length] },
                _ => new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(5 + i % 60) },
            });
        }

        return tasks;
    }
}

/// <summary>One tick on which a calendar task is due: computing its next occurrence should allocate nothing.</summary>
[MemoryDiagnoser]
public class CalendarTickBenchmarks
{
    private readonly List<DueRun> _due = new(8);
    private TaskSchedule _schedule = null!;
    private long _tick;

    [GlobalSetup]
    public void Setup()
    {
        _schedule = new TaskSchedule(
            [new PeriodicTaskOptions { Cron = "* * * * *", TimeZone = "Europe/Berlin" }],
            new TickClock(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60)),
            new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        _tick = 0;
    }

    [Benchmark(Description = "Advance one tick, one calendar task due")]
    public int AdvanceOneTick()
    {
        _due.Clear();
        _schedule.Advance(++_tick, _due);
        return _due.Count;
    }
}
