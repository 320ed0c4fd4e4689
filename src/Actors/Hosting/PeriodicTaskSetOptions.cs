using System.Globalization;
using System.Text;
using ActorScheduler.Configuration;
using ActorScheduler.Tasks;

namespace ActorScheduler.Hosting;

/// <summary>
/// The options of one task set in Akka.Hosting. Each property that is set becomes HOCON under
/// <c>actor-scheduler.sets.NAME</c> (prepended, so it wins over reference.conf but an operator's file can still be
/// layered over it); unset properties keep reference.conf's defaults.
/// </summary>
public sealed class PeriodicTaskSetOptions
{
    private readonly List<Func<IServiceProvider?, PeriodicTaskDefinition>> _codeTasks = [];

    /// <summary>The set's name (actor periodic-tasks-NAME, log prefix NAME.task). Defaults to the manager type's name.</summary>
    public string? SetName { get; set; }

    public TimeSpan? PeriodicInterval { get; set; }
    public TimeSpan? InitialDelay { get; set; }
    public TimeSpan? FuzzyDelay { get; set; }
    public bool? RaiseOnError { get; set; }
    public TimeSpan? ShutdownTimeout { get; set; }
    public TickSource? TickSource { get; set; }
    public RunEvents? RunEvents { get; set; }

    /// <summary>Overrides of declared tasks by name, as an operator would write them under tasks.NAME.</summary>
    public Dictionary<string, TaskOptionsOverride> Tasks { get; } = new(StringComparer.Ordinal);

    /// <summary>Stop the set gracefully (cancel and wait for runs) in CoordinatedShutdown. Default true.</summary>
    public bool StopOnCoordinatedShutdown { get; set; } = true;

    internal IReadOnlyList<Func<IServiceProvider?, PeriodicTaskDefinition>> CodeTasks => _codeTasks;

    /// <summary>Adds a delegate task.</summary>
    public PeriodicTaskSetOptions AddTask(
        string name, Func<PeriodicTaskContext, CancellationToken, ValueTask> body, PeriodicTaskOptions? options = null)
    {
        var definition = PeriodicTaskDefinition.FromCode(name, body, options);
        _codeTasks.Add(_ => definition);
        return this;
    }

    /// <summary>
    /// Adds an <see cref="IPeriodicTask"/> resolved from dependency injection in a new scope for each run (or created
    /// with ActivatorUtilities when it is not registered), so tasks can take scoped services.
    /// </summary>
    public PeriodicTaskSetOptions AddTask<TTask>(string name, PeriodicTaskOptions? options = null) where TTask : class, IPeriodicTask
    {
        _ = PeriodicTaskDefinition.FromCode(name, (_, _) => ValueTask.CompletedTask, options); // checks name and options now
        _codeTasks.Add(services => PeriodicTaskDefinition.FromCode(name, (context, token) => TaskBodies.RunAsync(typeof(TTask), services, context, token), options));
        return this;
    }

    /// <summary>The HOCON these options stand for.</summary>
    internal string ToHocon(string setName)
    {
        var sb = new StringBuilder();
        sb.Append("actor-scheduler.sets.").Append(Hocon.Quote(setName)).AppendLine(" {");
        Duration(sb, "periodic-interval", PeriodicInterval);
        Duration(sb, "initial-delay", InitialDelay);
        Duration(sb, "fuzzy-delay", FuzzyDelay);
        Duration(sb, "shutdown-timeout", ShutdownTimeout);
        if (RaiseOnError is { } raise) sb.Append("  raise-on-error = ").AppendLine(raise ? "on" : "off");
        if (TickSource is { } source) sb.Append("  tick-source = ").AppendLine(source.ToString().ToLowerInvariant());
        if (RunEvents is { } events) sb.Append("  run-events = ").AppendLine(events.ToString().ToLowerInvariant());
        sb.AppendLine("  tasks {");
        foreach (var (name, o) in Tasks)
        {
            sb.Append("    ").Append(Hocon.Quote(name)).AppendLine(" {");
            if (o.TicksBetweenRuns is { } ticks) sb.Append("      ticks-between-runs = ").AppendLine(ticks.ToString(CultureInfo.InvariantCulture));
            Duration(sb, "  spacing", o.Spacing, "    ");
            if (o.RunImmediately is { } ri) sb.Append("      run-immediately = ").AppendLine(ri ? "on" : "off");
            if (o.Enabled is { } en) sb.Append("      enabled = ").AppendLine(en ? "on" : "off");
            if (o.Timeout is { } timeout)
                sb.Append("      timeout = ").AppendLine(timeout == System.Threading.Timeout.InfiniteTimeSpan ? "infinite" : Ms(timeout));
            if (o.Overlap is { } overlap) sb.Append("      overlap = ").AppendLine(overlap.ToString().ToLowerInvariant());
            if (o.Scope is { } scope) sb.Append("      scope = ").AppendLine(scope.ToString().ToLowerInvariant());
            if (o.Role is { } role) sb.Append("      role = ").AppendLine(Hocon.Quote(role));
            if (o.Misfire is { } misfire)
                sb.Append("      misfire = ").AppendLine(misfire == MisfirePolicy.RunAll ? "run-all" : misfire.ToString().ToLowerInvariant());
            if (o.MisfireLimit is { } limit) sb.Append("      misfire-limit = ").AppendLine(limit.ToString(CultureInfo.InvariantCulture));
            if (o.Cron is { } cron) sb.Append("      cron = ").AppendLine(Hocon.Quote(cron));
            if (o.TimeZone is { } zone) sb.Append("      time-zone = ").AppendLine(Hocon.Quote(zone));
            if (o.Retries is { } retries) sb.Append("      retries = ").AppendLine(retries.ToString(CultureInfo.InvariantCulture));
            Duration(sb, "  retry-backoff", o.RetryBackoff, "    ");
            Duration(sb, "  retry-max-backoff", o.RetryMaxBackoff, "    ");
            if (o.PauseAfterFailures is { } k) sb.Append("      pause-after-failures = ").AppendLine(k.ToString(CultureInfo.InvariantCulture));
            sb.AppendLine("    }");
        }

        sb.AppendLine("  }");
        sb.AppendLine("}");
        return sb.ToString();
    }

    private static void Duration(StringBuilder sb, string key, TimeSpan? value, string indent = "")
    {
        if (value is { } v)
            sb.Append(indent).Append("  ").Append(key.Trim()).Append(" = ").AppendLine(Ms(v));
    }

    private static string Ms(TimeSpan value) =>
        ((decimal)value.Ticks / TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture) + "ms";
}

/// <summary>Overrides of one declared task's options; null keeps what the task declares.</summary>
public sealed class TaskOptionsOverride
{
    public int? TicksBetweenRuns { get; set; }
    public TimeSpan? Spacing { get; set; }
    public bool? RunImmediately { get; set; }
    public bool? Enabled { get; set; }

    /// <summary><see cref="System.Threading.Timeout.InfiniteTimeSpan"/> for none.</summary>
    public TimeSpan? Timeout { get; set; }

    public OverlapMode? Overlap { get; set; }

    /// <summary>Node: on every node; Cluster: on one node of the cluster (needs WithClusterPeriodicTasks).</summary>
    public TaskScope? Scope { get; set; }

    /// <summary>With Scope = Cluster: only nodes with this role run the task.</summary>
    public string? Role { get; set; }

    public MisfirePolicy? Misfire { get; set; }

    public int? MisfireLimit { get; set; }

    /// <summary>A cron expression (5 fields, or 6 with seconds first); it replaces a declared spacing or tick count.</summary>
    public string? Cron { get; set; }

    /// <summary>The IANA zone the cron expression is read in (default UTC).</summary>
    public string? TimeZone { get; set; }

    /// <summary>Extra attempts of a failed or timed-out run.</summary>
    public int? Retries { get; set; }

    public TimeSpan? RetryBackoff { get; set; }

    public TimeSpan? RetryMaxBackoff { get; set; }

    /// <summary>Pause the task after this many failed occurrences in a row (0 = never).</summary>
    public int? PauseAfterFailures { get; set; }
}
