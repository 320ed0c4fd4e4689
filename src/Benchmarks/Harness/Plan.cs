using ActorScheduler.Benchmarks.Engines;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>One workload of the run: what each engine is given and how long it is measured.</summary>
/// <param name="Name">W1..W5, startup, mem0, recovery, or sweep-N.</param>
/// <param name="Mode">run, idle, startup, mem0 or recovery (see <see cref="Worker"/>).</param>
/// <param name="Tasks">N.</param>
/// <param name="PeriodMs">T.</param>
/// <param name="WindowMs">The measured window (run, idle) or the time limit (startup).</param>
/// <param name="SettleMs">Warm-up before the window (run) or settling time (idle, mem0).</param>
/// <param name="Hung">The task that hangs, or -1.</param>
/// <param name="Engines">The engines that run it.</param>
/// <param name="Trials">
/// How many times each engine runs it (the engines' order alternating from one trial to the next); the result kept is
/// the trial with the median p99, and the p99 of every trial is reported beside it.
/// </param>
public sealed record Workload(
    string Name, string Description, string Mode, int Tasks, double PeriodMs, double WindowMs, double SettleMs, int Hung,
    IReadOnlyList<string> Engines, int Trials = 1);

/// <summary>The workloads of a full or a quick run.</summary>
public sealed class Plan
{
    /// <summary>Worker threads for engines where that is a setting (Quartz's thread pool; Quartz's default too).</summary>
    public const int Workers = 10;

    /// <summary>The sweep's pass criterion: the W2/W3 goal.</summary>
    public const double SweepMinDelivered = 0.999;

    public const double SweepMaxP99Ms = 20;

    private Plan(bool quick, IReadOnlyList<Workload> workloads, IReadOnlyList<int> sweepTasks, double sweepPeriodMs, double sweepWarmupMs, double sweepWindowMs)
    {
        Quick = quick;
        Workloads = workloads;
        SweepTasks = sweepTasks;
        SweepPeriodMs = sweepPeriodMs;
        SweepWarmupMs = sweepWarmupMs;
        SweepWindowMs = sweepWindowMs;
    }

    public bool Quick { get; }

    public IReadOnlyList<Workload> Workloads { get; }

    /// <summary>Task counts tried, in order, by the sweep for the largest sustained rate (stops at the first failure).</summary>
    public IReadOnlyList<int> SweepTasks { get; }

    public double SweepPeriodMs { get; }

    public double SweepWarmupMs { get; }

    public double SweepWindowMs { get; }

    public static IReadOnlyList<string> SweepEngines { get; } = [EngineNames.ActorScheduler, EngineNames.Quartz];

    /// <summary>Only ActorScheduler keeps state across a restart: the others have nothing to recover.</summary>
    private static Workload Recovery { get; } =
        new("recovery", "10,000 tasks recovered from a snapshot (SQLite)", "recovery", 10_000, 0, 60_000, 0, -1, [EngineNames.ActorScheduler]);

    /// <summary>W6: calendar tasks on the wall clock's whole seconds, ActorScheduler at its default 60 s interval beside Quartz's cron triggers.</summary>
    private static Workload Calendar(double windowMs, double settleMs) =>
        new("W6", "10,000 calendar tasks * * * * * * (every second)", "run", 10_000, 1_000, windowMs, settleMs, -1,
            [EngineNames.ActorSchedulerCron, EngineNames.QuartzCron]);

    /// <summary>The same plan with only the named workloads (--only, which runs no sweep).</summary>
    public Plan Only(IReadOnlyCollection<string> names) =>
        new(Quick, Workloads.Where(w => names.Contains(w.Name)).ToList(), SweepTasks, SweepPeriodMs, SweepWarmupMs, SweepWindowMs);

    public static Plan Create(bool quick)
    {
        var all = EngineNames.All;
        if (quick)
        {
            return new Plan(true,
            [
                new("W1", "1,000 tasks every 100 ms", "run", 1_000, 100, 2_000, 1_000, -1, all),
                new("W2", "10,000 tasks every 100 ms", "run", 10_000, 100, 2_000, 1_000, -1, [.. all, EngineNames.ActorSchedulerEventsOff]),
                new("W3", "100,000 tasks every 1 s", "run", 100_000, 1_000, 2_000, 1_000, -1, all),
                new("W4", "100,000 tasks every 60 s (idle)", "idle", 100_000, 60_000, 2_000, 2_000, -1, all),
                new("W5", "1,000 tasks every 100 ms, one hung", "run", 1_000, 100, 2_000, 1_000, 500, all),
                Calendar(3_000, 2_000),
                new("startup", "100,000 tasks, all due at start", "startup", 100_000, 60_000, 30_000, 0, -1, [EngineNames.ActorScheduler, EngineNames.Quartz]),
                new("mem0", "no task (memory baseline)", "mem0", 0, 60_000, 0, 1_000, -1, [EngineNames.ActorScheduler, EngineNames.Quartz]),
                Recovery,
            ], [10, 100, 1_000, 10_000], 100, 1_000, 2_000);
        }

        return new Plan(false,
        [
            new("W1", "1,000 tasks every 100 ms", "run", 1_000, 100, 12_000, 6_000, -1, all, Trials: 3),
            new("W2", "10,000 tasks every 100 ms", "run", 10_000, 100, 12_000, 6_000, -1, [.. all, EngineNames.ActorSchedulerEventsOff], Trials: 3),
            new("W3", "100,000 tasks every 1 s", "run", 100_000, 1_000, 15_000, 6_000, -1, all),
            new("W4", "100,000 tasks every 60 s (idle)", "idle", 100_000, 60_000, 20_000, 8_000, -1, all),
            new("W5", "1,000 tasks every 100 ms, one hung", "run", 1_000, 100, 12_000, 6_000, 500, all, Trials: 3),
            Calendar(15_000, 6_000),
            new("startup", "100,000 tasks, all due at start", "startup", 100_000, 60_000, 30_000, 0, -1, all),
            new("mem0", "no task (memory baseline)", "mem0", 0, 60_000, 0, 3_000, -1, all),
            Recovery,
        ], [10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000], 100, 6_000, 4_000);
    }
}
