using System.Diagnostics;

namespace ActorScheduler;

/// <summary>
/// Traces: ActivitySource "ActorScheduler" starts one span per attempt of a run, named SET.TASK, with the tags
/// actor_scheduler.set, .task, .tick, .attempt and, at its end, .outcome (and the error as the span's status). The
/// body runs with the span as Activity.Current, so spans it starts are its children. Listen with OpenTelemetry's
/// AddSource(PeriodicTaskTracing.SourceName).
/// </summary>
public static class PeriodicTaskTracing
{
    public const string SourceName = "ActorScheduler";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>The span of an attempt, or null when nobody listens.</summary>
    internal static Activity? StartRun(string set, string task, long tick, int attempt)
    {
        if (!Source.HasListeners())
            return null;
        var previous = Activity.Current;
        var activity = Source.StartActivity(set + "." + task, ActivityKind.Internal, parentContext: default);
        Activity.Current = previous; // the span belongs to the body, not to the runner's thread
        if (activity is null)
            return null;
        activity.SetTag("actor_scheduler.set", set);
        activity.SetTag("actor_scheduler.task", task);
        activity.SetTag("actor_scheduler.tick", tick);
        activity.SetTag("actor_scheduler.attempt", attempt);
        return activity;
    }

    /// <summary>Ends an attempt's span with its outcome (succeeded, failed, timed-out, cancelled) and error.</summary>
    internal static void End(Activity? activity, string outcome, string? error)
    {
        if (activity is null)
            return;
        activity.SetTag("actor_scheduler.outcome", outcome);
        if (error is not null)
            activity.SetStatus(ActivityStatusCode.Error, error);
        activity.Stop();
    }
}
