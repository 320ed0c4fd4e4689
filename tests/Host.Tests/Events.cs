using System.Globalization;
using System.Text.Json;

namespace ActorScheduler.Host.Tests;

/// <summary>One JSON Lines event as the host wrote it; <see cref="Task"/> is "" and <see cref="Tick"/> -1 where the event has none.</summary>
public sealed record Event(string Name, string Task, long Tick, DateTimeOffset Time, long? DurationMs, string? Error, JsonElement Raw)
{
    public static IReadOnlyList<Event> ReadFile(string path) => Parse(File.ReadAllText(path));

    /// <summary>The complete lines written so far to a file a running host is writing ([] before it exists).</summary>
    public static IReadOnlyList<Event> ReadWritten(string path)
    {
        if (!File.Exists(path))
            return [];
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException)
        {
            return [];
        }

        var complete = text.LastIndexOf('\n'); // a line being written is left for the next read
        return complete < 0 ? [] : Parse(text[..(complete + 1)]);
    }

    public static IReadOnlyList<Event> Parse(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ParseLine).ToList();

    public static Event ParseLine(string line)
    {
        var json = JsonDocument.Parse(line).RootElement.Clone();
        var time = json.GetProperty("time").GetString()!;
        return new Event(
            json.GetProperty("event").GetString()!,
            json.TryGetProperty("task", out var task) ? task.GetString()! : "",
            json.TryGetProperty("tick", out var tick) ? tick.GetInt64() : -1,
            DateTimeOffset.ParseExact(time, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            json.TryGetProperty("durationMs", out var d) ? d.GetInt64() : null,
            json.TryGetProperty("error", out var e) ? e.GetString() : null,
            json);
    }

    /// <summary>A string array field (added, updated, removed of a reloaded event).</summary>
    public IReadOnlyList<string> Names(string field) => Raw.GetProperty(field).EnumerateArray().Select(e => e.GetString()!).ToList();
}
