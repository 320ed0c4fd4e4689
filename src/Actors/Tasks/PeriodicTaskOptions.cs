namespace ActorScheduler.Tasks;

/// <summary>What happens when a task is due while its last run is still in flight.</summary>
public enum OverlapMode
{
    /// <summary>Do not start it; count an overrun and log a warning (the default).</summary>
    Skip,

    /// <summary>Start it as soon as the running one ends (at most one pending run).</summary>
    Queue,
}

/// <summary>Where a task runs when the ActorSystem is part of a cluster.</summary>
public enum TaskScope
{
    /// <summary>On every node (nova's per-compute tasks). The default.</summary>
    Node,

    /// <summary>
    /// On one node of the cluster (of the task's role), through a cluster singleton. Needs the ActorScheduler.Cluster
    /// package (StartClusterPeriodicTasks / WithClusterPeriodicTasks); the core manager rejects it.
    /// </summary>
    Cluster,
}

/// <summary>
/// What a spaced task does with the due times that passed while no node ran it (after a restart or a cluster
/// hand-over with actor-scheduler.state.store = sql). Every due time that does not get a run is counted as missed.
/// </summary>
public enum MisfirePolicy
{
    /// <summary>One run at once for all the passed due times; the others are counted as missed (the default).</summary>
    Coalesce,

    /// <summary>No run for the passed due times: all are counted as missed; the task waits for its next due time.</summary>
    Skip,

    /// <summary>One run per passed due time, one per tick, at most MisfireLimit of them; the rest are counted as missed.</summary>
    RunAll,
}

/// <summary>
/// The schedule and run options of one periodic task. Immutable; change it with <c>with</c>.
/// At most one of <see cref="TicksBetweenRuns"/>, <see cref="Spacing"/> and <see cref="Cron"/> may be set; none means
/// every tick.
/// </summary>
public sealed record PeriodicTaskOptions
{
    public static readonly PeriodicTaskOptions Default = new();

    /// <summary>N: the task runs every N+1 ticks (on ticks N+1, 2(N+1), ...). Null: not tick-counted.</summary>
    public int? TicksBetweenRuns { get; init; }

    /// <summary>S: the task is due at start + S, start + 2S, ... A negative spacing disables the task.</summary>
    public TimeSpan? Spacing { get; init; }

    /// <summary>
    /// A cron expression (5 fields, or 6 with seconds first; L, W, # and macros such as @daily): the task runs at the
    /// first tick at or after each occurrence. Null: not a calendar task.
    /// </summary>
    public string? Cron { get; init; }

    /// <summary>The IANA time zone in which <see cref="Cron"/> is read. Only meaningful with Cron.</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>Extra attempts of a failed or timed-out run (>= 0).</summary>
    public int Retries { get; init; }

    /// <summary>Delay before the first retry, doubled for each further one (> 0).</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest delay between retries (>= RetryBackoff).</summary>
    public TimeSpan RetryMaxBackoff { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>K > 0: pause the task after K consecutive failed occurrences. 0: never.</summary>
    public int PauseAfterFailures { get; init; }

    /// <summary>Also run at tick 0 (start).</summary>
    public bool RunImmediately { get; init; }

    /// <summary>False: the task never runs and is listed as disabled.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Cancel the run's CancellationToken after this long. Null: no timeout.</summary>
    public TimeSpan? Timeout { get; init; }

    public OverlapMode Overlap { get; init; } = OverlapMode.Skip;

    public TaskScope Scope { get; init; } = TaskScope.Node;

    public string Role { get; init; } = "";

    /// <summary>What happens to due times passed while no node ran the task (restart, hand-over).</summary>
    public MisfirePolicy Misfire { get; init; } = MisfirePolicy.Coalesce;

    /// <summary>With <see cref="MisfirePolicy.RunAll"/>: the most catch-up runs (>= 1).</summary>
    public int MisfireLimit { get; init; } = 10;

    /// <summary>True when the task never runs: disabled, or a negative spacing (oslo compatibility).</summary>
    public bool IsDisabled => !Enabled || Spacing is { } s && s < TimeSpan.Zero;

    /// <summary>A calendar task: its due times come from <see cref="Cron"/>.</summary>
    internal bool IsCalendar => Cron is not null;

    /// <summary>The schedule in words: "every tick", "every 11 ticks", "every 10m", "at 02:30 every day (UTC)", "disabled".</summary>
    public string DescribeSchedule(TimeSpan periodicInterval)
    {
        if (IsDisabled)
            return "disabled";
        var text = TicksBetweenRuns switch
        {
            { } n when n > 0 => $"every {n + 1} ticks = {Seconds(periodicInterval * (n + 1))}",
            _ when Spacing is { } s => $"every {Durations.Format(s)}",
            _ when Cron is { } cron => DescribeCalendar(cron, TimeZone),
            _ => $"every tick = {Seconds(periodicInterval)}",
        };
        return RunImmediately ? text + ", and at start" : text;
    }

    private static string DescribeCalendar(string cron, string zone)
    {
        try
        {
            return Scheduling.CalendarSchedule.Parse(cron, zone, (_, problem) => new ArgumentException(problem)).Describe();
        }
        catch (ArgumentException)
        {
            return $"cron '{cron}' ({zone})";
        }
    }

    private static string Seconds(TimeSpan value) =>
        value.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + " s";
}
