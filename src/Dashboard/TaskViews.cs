using System.Text.Json.Serialization;
using ActorScheduler.Messages;

namespace ActorScheduler.Dashboard;

/// <summary>GET api/tasks: the set, and its tasks (all of them, or the page asked for with search, offset, limit).</summary>
internal sealed record TaskListView(
    string Set, long Tick, bool ReadOnly, bool Cluster, string? Node, int Total, int Matched, int Offset,
    TaskSummary Summary, IReadOnlyList<TaskView> Tasks);

/// <summary>Counts over the whole set, for the page's header.</summary>
internal sealed record TaskSummary(int Running, int Paused, int Failing, int Disabled);

/// <summary>One task: its stats, its last run and (for the detail) its recent runs.</summary>
internal sealed record TaskView(
    string Name, string Schedule, bool Enabled, bool Paused, string? PauseNote, string? PausedUntil, bool Running,
    string? NextDueAt, long? NextDueTick, LastRunView? LastRun, long Runs, long Succeeded, long Failed, long TimedOut,
    long Cancelled, long Overruns, long Missed, long SkippedWhilePaused, long Retries, long? MeanDurationMs,
    long? MaxDurationMs, string? Node, IReadOnlyList<string> Recent)
{
    /// <summary>GET api/tasks/{name} only: the last runs, newest first.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<RunView>? RecentRuns { get; init; }

    /// <summary>The outcomes shown in a row's strip.</summary>
    public const int StripLength = 20;

    public static TaskView Of(TaskStats s, IReadOnlyList<RunRecord> runs, string? defaultNode)
    {
        var lastEnded = runs.FirstOrDefault(r => r.Outcome != "running");
        LastRunView? last = lastEnded is not null
            ? new(lastEnded.Tick, lastEnded.Attempt, EventJson.Iso(lastEnded.StartedAt), lastEnded.DurationMs, lastEnded.Outcome, lastEnded.Error)
            : s.LastStart is { } start && !s.Running
                ? new(null, null, EventJson.Iso(start), s.LastDuration is { } d ? EventJson.Milliseconds(d) : null, null, null)
                : null;
        return new TaskView(
            s.Task, s.Schedule, s.Enabled, s.Paused, s.PauseNote, Iso(s.PausedUntil), s.Running, Iso(s.NextDueAt), s.NextDueTick, last,
            s.Runs, s.Succeeded, s.Failed, s.TimedOut, s.Cancelled, s.Overruns, s.Missed, s.SkippedWhilePaused, s.Retries,
            Ms(s.MeanDuration), Ms(s.MaxDuration), runs.Count > 0 ? runs[0].Node : defaultNode,
            runs.Take(StripLength).Select(r => r.Outcome).ToArray());
    }

    private static string? Iso(DateTimeOffset? time) => time is { } t ? EventJson.Iso(t) : null;

    private static long? Ms(TimeSpan? d) => d is { } v ? EventJson.Milliseconds(v) : null;
}

/// <summary>The last ended run of a task (tick and attempt null when only the set's stats know it).</summary>
internal sealed record LastRunView(long? Tick, int? Attempt, string StartedAt, long? DurationMs, string? Outcome, string? Error);

/// <summary>One attempt of a run, in a task's recentRuns.</summary>
internal sealed record RunView(long Tick, int Attempt, string ScheduledAt, string StartedAt, long? DurationMs, string Outcome, string? Error, string? Node)
{
    public static RunView Of(RunRecord r) =>
        new(r.Tick, r.Attempt, EventJson.Iso(r.ScheduledAt), EventJson.Iso(r.StartedAt), r.DurationMs, r.Outcome, r.Error, r.Node);
}

/// <summary>A request the console refuses, with its status code and a one-line reason.</summary>
internal sealed class DashboardRequestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
