using System.Globalization;
using System.Text;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;

namespace ActorScheduler.Host.Cli;

/// <summary>
/// <c>list</c>: the tasks in dispatch order, each with its schedule in words, its first due ticks and its options; a
/// SCOPE column (node, or cluster with its role) appears when some task is cluster-scoped. Below the table, the next
/// occurrences of each calendar task, in its zone and in UTC, with the ones daylight saving moved marked.
/// </summary>
internal static class ListCommand
{
    public const int FirstRuns = 3;

    /// <param name="plan">The task set.</param>
    /// <param name="now">The time of tick 0 (--start, default now): due ticks and occurrences count from it.</param>
    public static string Render(HostPlan plan, DateTimeOffset now)
    {
        var settings = plan.Settings;
        var clock = new TickClock(settings.InitialDelay, settings.PeriodicInterval);
        var sb = new StringBuilder();
        var disabled = plan.Tasks.Count(t => t.Options.IsDisabled);
        sb.Append($"Task set {plan.Set.Name} from {plan.Source.Source}: {plan.Tasks.Count} task{(plan.Tasks.Count == 1 ? "" : "s")}");
        if (disabled > 0)
            sb.Append($" ({disabled} disabled)");
        sb.Append($", tick every {Durations.Format(settings.PeriodicInterval)}, tick 1 at +{Durations.Format(settings.InitialDelay)}");
        if (settings.FuzzyDelay > TimeSpan.Zero)
            sb.Append($" plus a random 0-{Durations.Format(settings.FuzzyDelay)}");
        sb.AppendLine();

        var scoped = plan.HasClusterTasks;
        string[] header = scoped ? ["TASK", "SCOPE", "SCHEDULE", "FIRST DUE", "OPTIONS"] : ["TASK", "SCHEDULE", "FIRST DUE", "OPTIONS"];
        var rows = plan.Tasks.Select(t => scoped
            ? new[] { t.Name, Scope(t.Options), Describe(t.Options, settings.PeriodicInterval), FirstDue(t.Options, clock, now), Options(plan, t) }
            : new[] { t.Name, Describe(t.Options, settings.PeriodicInterval), FirstDue(t.Options, clock, now), Options(plan, t) }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        Append(sb, header, widths);
        foreach (var row in rows)
            Append(sb, row, widths);
        if (rows.Count == 0)
            sb.AppendLine("(no tasks: add entries with command = \"...\" under actor-scheduler.tasks, or assemblies)");
        AppendOccurrences(sb, plan.Tasks, now);
        return sb.ToString();
    }

    /// <summary>
    /// The next occurrences of the enabled calendar tasks from <paramref name="from"/>: "2026-03-08 03:00 -04:00 =
    /// 2026-03-08 07:00Z  moved out of the DST gap".
    /// </summary>
    private static void AppendOccurrences(StringBuilder sb, IReadOnlyList<PeriodicTaskDefinition> tasks, DateTimeOffset from)
    {
        var calendars = tasks.Where(t => t.Options is { Cron: not null, IsDisabled: false }).ToList();
        if (calendars.Count == 0)
            return;
        sb.AppendLine();
        sb.AppendLine($"Next occurrences from {from.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture)} (local time in the task's zone = UTC):");
        var width = calendars.Max(t => t.Name.Length);
        foreach (var task in calendars)
        {
            var schedule = CalendarSchedule.Parse(task.Options.Cron!, task.Options.TimeZone,
                (key, problem) => new PeriodicTaskConfigurationException($"{task.Name}.{key}", problem));
            var first = true;
            foreach (var o in schedule.Upcoming(from, FirstRuns))
            {
                var line = $"{(first ? task.Name : "").PadRight(width)}  {Local(o.Local)} = {o.Utc.UtcDateTime.ToString(Minutes(o.Utc) + "'Z'", CultureInfo.InvariantCulture)}";
                sb.AppendLine(o.Dst is null ? line : $"{line}  {o.Dst}");
                first = false;
            }

            if (first)
                sb.AppendLine($"{task.Name.PadRight(width)}  never");
        }
    }

    private static string Local(DateTimeOffset local) =>
        local.ToString(Minutes(local) + " zzz", CultureInfo.InvariantCulture);

    /// <summary>Minutes, or seconds when the occurrence has them.</summary>
    private static string Minutes(DateTimeOffset time) => time.Second == 0 ? "yyyy-MM-dd HH:mm" : "yyyy-MM-dd HH:mm:ss";

    /// <summary>
    /// The schedule in words, as docs/semantics.md puts it: "every 11 ticks = 660 s" (a tick-counted task's real
    /// period, in seconds), "every tick = 60 s", "every 10m" (spacing, in HOCON form), "disabled"; ", and at start" with
    /// run-immediately; a calendar task as <see cref="PeriodicTaskOptions.DescribeSchedule"/> puts it.
    /// </summary>
    public static string Describe(PeriodicTaskOptions options, TimeSpan interval)
    {
        if (options.IsDisabled || options.Cron is not null)
            return options.DescribeSchedule(interval);
        var text = options.Spacing is { } spacing
            ? $"every {Durations.Format(spacing)}"
            : (options.TicksBetweenRuns ?? 0) is var n && n > 0
                ? $"every {n + 1} ticks = {Seconds(interval * (n + 1))}"
                : $"every tick = {Seconds(interval)}";
        return options.RunImmediately ? text + ", and at start" : text;
    }

    /// <summary>"node" (every node), "cluster" (one node of the cluster) or "cluster, role R" (one node with role R).</summary>
    public static string Scope(PeriodicTaskOptions options) =>
        options.Scope == TaskScope.Node ? "node" : options.Role.Length == 0 ? "cluster" : $"cluster, role {options.Role}";

    private static string Seconds(TimeSpan period) =>
        period.Ticks % TimeSpan.TicksPerSecond == 0
            ? $"{period.Ticks / TimeSpan.TicksPerSecond} s"
            : $"{period.TotalMilliseconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} ms";

    /// <summary>The first due ticks of one task started at <paramref name="start"/> (calendar tasks depend on it), with their offsets from the start: "tick 11 (+11s), tick 22 (+22s), ...".</summary>
    internal static string FirstDue(PeriodicTaskOptions options, TickClock clock, DateTimeOffset start)
    {
        if (options.IsDisabled)
            return "never";
        var schedule = new TaskSchedule([options], clock, start);
        var due = new List<DueRun>(1);
        var parts = new List<string>();
        for (var i = 0; i < FirstRuns && schedule.NextDueTick(0) is { } tick && schedule.NextDueOffset(0) is { } at; i++)
        {
            // A calendar task runs at its occurrence, numbered with the tick before it (docs/semantics.md, "Calendar tasks").
            due.Clear();
            if (tick > schedule.LastTick)
                schedule.Advance(tick, due);
            if (schedule.IsCalendar(0))
                schedule.AdvanceTo(at, due);
            parts.Add($"tick {tick} (+{Offset(at)})");
        }

        return string.Join(", ", parts) + ", ...";
    }

    /// <summary>An offset from the start: "11m", or, for an occurrence off the tick grid, seconds with milliseconds ("8979.123s").</summary>
    private static string Offset(TimeSpan at) =>
        at.Ticks % TimeSpan.TicksPerSecond == 0 ? Durations.Format(at) : at.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";

    private static string Options(HostPlan plan, PeriodicTaskDefinition task)
    {
        var o = task.Options;
        var parts = new List<string>();
        if (o.Timeout is { } timeout)
            parts.Add($"timeout {Durations.Format(timeout)}");
        if (o.Overlap == OverlapMode.Queue)
            parts.Add("overlap queue");
        if (o.Retries > 0)
            parts.Add($"retries {o.Retries} (backoff {Durations.Format(o.RetryBackoff)} doubling to {Durations.Format(o.RetryMaxBackoff)})");
        if (o.PauseAfterFailures > 0)
            parts.Add($"pause after {o.PauseAfterFailures} failures");
        if (plan.Commands.TryGetValue(task.Name, out var command))
            parts.Add($"command: {command.Display}");
        return string.Join("; ", parts);
    }

    private static void Append(StringBuilder sb, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0)
                sb.Append("  ");
            sb.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i]));
        }

        sb.Length = sb.ToString().TrimEnd().Length;
        sb.AppendLine();
    }
}
