using System.Globalization;
using System.Text.Json;

namespace ActorScheduler.Host.Tests;

/// <summary>One JSON Lines event as the host wrote it.</summary>
public sealed record Event(string Name, string Task, long Tick, DateTimeOffset Time, long? DurationMs, string? Error, JsonElement Raw)
{
    public static IReadOnlyList<Event> ReadFile(string path) => Parse(File.ReadAllText(path));

    public static IReadOnlyList<Event> Parse(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ParseLine).ToList();

    public static Event ParseLine(string line)
    {
        var json = JsonDocument.Parse(line).RootElement.Clone();
        var time = json.GetProperty("time").GetString()!;
        return new Event(
            json.GetProperty("event").GetString()!,
            json.GetProperty("task").GetString()!,
            json.GetProperty("tick").GetInt64(),
            DateTimeOffset.ParseExact(time, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            json.TryGetProperty("durationMs", out var d) ? d.GetInt64() : null,
            json.TryGetProperty("error", out var e) ? e.GetString() : null,
            json);
    }
}
