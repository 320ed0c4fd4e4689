namespace ActorScheduler.Tasks;

/// <summary>
/// Marks a method of a task manager class as a periodic task, as nova's <c>@periodic_task</c> decorator does.
/// <code>
/// [PeriodicTask]                          // every tick
/// [PeriodicTask(TicksBetweenRuns = 10)]   // on ticks 11, 22, 33, ...
/// [PeriodicTask(Spacing = "10m")]         // every 10 minutes (HOCON duration syntax)
/// [PeriodicTask(Cron = "30 2 * * *", TimeZone = "Europe/Berlin")]   // at 02:30 Berlin time every day
/// </code>
/// Supported methods return <c>void</c>, <see cref="Task"/> or <see cref="ValueTask"/> and take any of
/// (nothing, a <see cref="PeriodicTaskContext"/>, a <see cref="CancellationToken"/>), each at most once.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false, AllowMultiple = false)]
public sealed class PeriodicTaskAttribute : Attribute
{
    private int? _ticksBetweenRuns;
    private string? _spacing;
    private string? _timeout;
    private string? _timeZone;

    /// <summary>The task's name; defaults to the method's name.</summary>
    public string? Name { get; set; }

    /// <summary>N: run every N+1 ticks. Unset: not tick-counted.</summary>
    public int TicksBetweenRuns { get => _ticksBetweenRuns ?? 0; set => _ticksBetweenRuns = value; }

    /// <summary>Spacing in HOCON duration syntax ("90s", "10m", "1h"); "-1s" disables the task.</summary>
    public string? Spacing { get => _spacing; set => _spacing = value; }

    /// <summary>A cron expression: 5 fields, or 6 with seconds first ("30 2 * * *", "@daily"). Unset: not a calendar task.</summary>
    public string? Cron { get; set; }

    /// <summary>The IANA time zone in which <see cref="Cron"/> is read ("Europe/Berlin"); default UTC.</summary>
    public string TimeZone { get => _timeZone ?? "UTC"; set => _timeZone = value; }

    /// <summary>Extra attempts of a failed or timed-out run.</summary>
    public int Retries { get; set; }

    /// <summary>Delay before the first retry in HOCON duration syntax ("10s"), doubled for each further one.</summary>
    public string? RetryBackoff { get; set; }

    /// <summary>The longest delay between retries in HOCON duration syntax ("10m").</summary>
    public string? RetryMaxBackoff { get; set; }

    /// <summary>K > 0: pause the task after K consecutive failed occurrences. 0: never.</summary>
    public int PauseAfterFailures { get; set; }

    public bool RunImmediately { get; set; }

    public bool Enabled { get; set; } = true;

    /// <summary>Timeout in HOCON duration syntax ("30s"); unset or "infinite": none.</summary>
    public string? Timeout { get => _timeout; set => _timeout = value; }

    public OverlapMode Overlap { get; set; } = OverlapMode.Skip;

    public TaskScope Scope { get; set; } = TaskScope.Node;

    /// <summary>With Scope = Cluster: only cluster nodes with this role run the task ("" = any node).</summary>
    public string Role { get; set; } = "";

    /// <summary>What happens to due times passed while no node ran the task (restart, hand-over).</summary>
    public MisfirePolicy Misfire { get; set; } = MisfirePolicy.Coalesce;

    /// <summary>With Misfire = RunAll: the most catch-up runs.</summary>
    public int MisfireLimit { get; set; } = 10;

    /// <summary>The options this attribute declares; <paramref name="where"/> names the method in errors.</summary>
    internal PeriodicTaskOptions ToOptions(string where)
    {
        TimeSpan? spacing = _spacing is { } text ? ParseDuration(text, where, nameof(Spacing)) : null;
        if (_timeZone is not null && Cron is null)
            throw new PeriodicTaskDefinitionException($"{where}: TimeZone applies only to a task with Cron; set Cron, or remove TimeZone.");
        TimeSpan? timeout = _timeout is null || _timeout.Trim() == "infinite" ? null : ParseDuration(_timeout, where, nameof(Timeout));
        var options = new PeriodicTaskOptions
        {
            TicksBetweenRuns = _ticksBetweenRuns,
            Spacing = spacing,
            RunImmediately = RunImmediately,
            Enabled = Enabled,
            Timeout = timeout,
            Overlap = Overlap,
            Scope = Scope,
            Role = Role,
            Misfire = Misfire,
            MisfireLimit = MisfireLimit,
            Cron = Cron,
            TimeZone = TimeZone,
            Retries = Retries,
            RetryBackoff = RetryBackoff is null ? PeriodicTaskOptions.Default.RetryBackoff : ParseDuration(RetryBackoff, where, nameof(RetryBackoff)),
            RetryMaxBackoff = RetryMaxBackoff is null ? PeriodicTaskOptions.Default.RetryMaxBackoff : ParseDuration(RetryMaxBackoff, where, nameof(RetryMaxBackoff)),
            PauseAfterFailures = PauseAfterFailures,
        };
        OptionsValidation.Validate(options, where);
        return options;
    }

    private static TimeSpan ParseDuration(string text, string where, string property) =>
        Durations.TryParse(text, out var value)
            ? value
            : throw new PeriodicTaskDefinitionException(
                $"{where}: {property} = \"{text}\" is not a duration (use HOCON syntax such as 500ms, 90s, 10m, 1h).");
}
