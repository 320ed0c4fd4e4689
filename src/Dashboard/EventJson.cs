using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ActorScheduler.Messages;

namespace ActorScheduler.Dashboard;

/// <summary>
/// Events as the console host's JSON Lines objects (docs/host.md, "Events"): event, task, tick, time (ISO-8601 UTC with
/// milliseconds), attempt, durationMs, error, note, until, started, schedule, and node where it applies.
/// </summary>
internal static class EventJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A run event; <paramref name="node"/> is the address of the node that ran it (null: not written).</summary>
    public static byte[] Of(PeriodicTaskEvent e, string? node) => Write(json =>
    {
        json.WriteString("event", e.EventName);
        json.WriteString("task", e.Task);
        json.WriteNumber("tick", e.Tick);
        var (time, duration, error) = e switch
        {
            PeriodicTaskStarted s => (s.StartedAt, (TimeSpan?)null, (string?)null),
            PeriodicTaskSucceeded s => (s.StartedAt + s.Duration, s.Duration, null),
            PeriodicTaskFailed f => (f.StartedAt + f.Duration, f.Duration, ErrorText(f.Error)),
            PeriodicTaskTimedOut t => (t.StartedAt + t.Duration, t.Duration, t.Error),
            _ => (e.ScheduledAt, null, null),
        };
        json.WriteString("time", Iso(time));
        if (IsRun(e))
            json.WriteNumber("attempt", e.Attempt);
        if (duration is { } d)
            json.WriteNumber("durationMs", Milliseconds(d));
        if (error is not null)
            json.WriteString("error", error);
        if (node is not null && IsRun(e))
            json.WriteString("node", node);
    });

    /// <summary>A control event (paused, resumed, triggered, added, updated, removed).</summary>
    public static byte[] Of(PeriodicTaskControlEvent e) => Write(json =>
    {
        json.WriteString("event", e.EventName);
        json.WriteString("task", e.Task);
        if (e is PeriodicTaskTriggered triggered)
            json.WriteNumber("tick", triggered.Tick);
        json.WriteString("time", Iso(e.Time));
        switch (e)
        {
            case PeriodicTaskPaused paused:
                if (paused.Note is not null)
                    json.WriteString("note", paused.Note);
                if (paused.Until is { } until)
                    json.WriteString("until", Iso(until));
                break;
            case PeriodicTaskResumed { Note: { } note }:
                json.WriteString("note", note);
                break;
            case PeriodicTaskTriggered t:
                json.WriteBoolean("started", t.Started);
                break;
            case PeriodicTaskAdded added:
                json.WriteString("schedule", added.Schedule);
                break;
            case PeriodicTaskUpdated updated:
                json.WriteString("schedule", updated.Schedule);
                break;
        }
    });

    /// <summary>started, succeeded, failed, timed-out: the events of one attempt of a run.</summary>
    public static bool IsRun(PeriodicTaskEvent e) =>
        e is PeriodicTaskStarted or PeriodicTaskSucceeded or PeriodicTaskFailed or PeriodicTaskTimedOut;

    /// <summary>A run's error on one line: the exception's message (its type when it has none).</summary>
    public static string ErrorText(Exception error) =>
        OneLine(string.IsNullOrWhiteSpace(error.Message) ? error.GetType().Name : error.Message);

    public static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>ISO-8601 UTC with milliseconds, as the events write times.</summary>
    public static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static long Milliseconds(TimeSpan duration) => (long)Math.Round(duration.TotalMilliseconds, MidpointRounding.AwayFromZero);

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
