namespace ActorScheduler.Benchmarks.Engines;

/// <summary>
/// The task body every engine runs: the harness's probe for task <c>index</c>. <c>occurrence</c> identifies the due time
/// the engine runs it for, where the engine says so (ActorScheduler: the run's tick; Quartz: the trigger's scheduled fire
/// time), and is <see cref="Occurrence.None"/> for engines that do not; it only increases from one occurrence of a task
/// to the next.
/// </summary>
public delegate ValueTask TaskBody(int index, long occurrence, CancellationToken cancellationToken);

/// <summary>Occurrence ids given to <see cref="TaskBody"/>.</summary>
public static class Occurrence
{
    /// <summary>The engine gives its runs no occurrence id (Akka timers, PeriodicTimer, nova's loop).</summary>
    public const long None = long.MinValue;

    /// <summary>
    /// The harness epoch of a schedule whose due times are the whole seconds of the wall clock (cron <c>* * * * * *</c>):
    /// the Stopwatch timestamp of the first whole second at least a second after <paramref name="epochUtc"/>.
    /// </summary>
    public static long WholeSecondEpoch(long epoch, DateTimeOffset epochUtc)
    {
        var whole = new DateTimeOffset(epochUtc.UtcTicks - epochUtc.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero).AddSeconds(2);
        return epoch + (long)((whole - epochUtc).TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    }
}

/// <summary>What an engine is asked to run: N tasks due at epoch + k x Period.</summary>
/// <param name="Tasks">Number of tasks.</param>
/// <param name="Period">The period T of every task.</param>
/// <param name="FirstRunAtStart">True: the first run is due at the epoch (k = 0); false: at epoch + T (k = 1).</param>
/// <param name="Workers">Worker threads, for engines where that is a setting (Quartz).</param>
public sealed record EngineSpec(int Tasks, TimeSpan Period, bool FirstRunAtStart, int Workers);

/// <summary>
/// One scheduler under test. <see cref="PrepareAsync"/> builds everything that is not the schedule itself (an ActorSystem,
/// a Quartz scheduler, the task declarations); <see cref="StartAsync"/> is called right after the harness takes its
/// epoch. Every engine gets the same body and the same overlap rule (a run is skipped while the task's last run is in
/// flight).
/// </summary>
public interface IEngine : IAsyncDisposable
{
    string Name { get; }

    Task PrepareAsync(EngineSpec spec, TaskBody body);

    /// <summary>
    /// Starts the schedule. <paramref name="epoch"/> is the harness's epoch as a Stopwatch timestamp and
    /// <paramref name="epochUtc"/> the same moment on the wall clock, for engines that take a start time.
    /// </summary>
    Task StartAsync(long epoch, DateTimeOffset epochUtc);
}

/// <summary>
/// An engine whose schedule counts from a moment after <see cref="IEngine.StartAsync"/> returned (ActorScheduler with a
/// state store: its ticks count from the end of the recovery): the harness measures lateness from that moment.
/// </summary>
public interface IDelayedStart
{
    /// <summary>The Stopwatch timestamp the schedule counts from, given the harness's epoch; called after StartAsync.</summary>
    Task<long> ScheduleEpochAsync(long epoch, DateTimeOffset epochUtc);
}

public static class EngineNames
{
    public const string ActorScheduler = "actorscheduler";
    public const string Quartz = "quartz";
    public const string AkkaTimers = "akka-timers";
    public const string PeriodicTimer = "periodictimer";
    public const string NovaLoop = "nova-loop";

    /// <summary>
    /// Calendar tasks (W6): ActorScheduler's cron tasks at the default periodic interval (60 s), beside Quartz.NET's cron
    /// triggers, on the same occurrences (every whole second of the wall clock).
    /// </summary>
    public const string ActorSchedulerCron = "actorscheduler-cron";

    public const string QuartzCron = "quartz-cron";

    /// <summary>ActorScheduler with actor-scheduler.run-events = off (W2 only: what run events cost).</summary>
    public const string ActorSchedulerEventsOff = "actorscheduler-events-off";

    public static readonly IReadOnlyList<string> All = [ActorScheduler, Quartz, AkkaTimers, PeriodicTimer, NovaLoop];

    public static string Display(string name) => name switch
    {
        ActorScheduler => "ActorScheduler",
        Quartz => "Quartz.NET",
        AkkaTimers => "Akka timers",
        PeriodicTimer => "PeriodicTimer",
        NovaLoop => "nova loop",
        ActorSchedulerEventsOff => "ActorScheduler, run-events = off",
        ActorSchedulerCron => "ActorScheduler, cron, 60 s interval",
        QuartzCron => "Quartz.NET, cron trigger",
        _ => StateStoreVariant.Parse(name)?.Display ?? name,
    };

    public static IEngine Create(string name) => name switch
    {
        ActorScheduler => new ActorSchedulerEngine(),
        Quartz => new QuartzEngine(),
        AkkaTimers => new AkkaTimersEngine(),
        PeriodicTimer => new PeriodicTimerEngine(),
        NovaLoop => new NovaLoopEngine(),
        ActorSchedulerEventsOff => new ActorSchedulerEngine(eventsOff: true),
        ActorSchedulerCron => new ActorSchedulerEngine(cron: true),
        QuartzCron => new QuartzEngine(cron: true),
        _ when StateStoreVariant.Parse(name) is { } store => new ActorSchedulerEngine(store),
        _ => throw new ArgumentException($"unknown engine '{name}' (known: {string.Join(", ", All)})"),
    };
}
