using System.Globalization;
using Akka.Configuration;

namespace ActorScheduler;

/// <summary>Durations in HOCON syntax, parsed by Akka's own HOCON reader so every form it accepts is accepted here.</summary>
internal static class Durations
{
    /// <summary>Parses "500ms", "90s", "10m", "1h", "1d" (and every other HOCON duration form).</summary>
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text) || text.Contains('\n') || text.Contains('"') || text.Contains('\\'))
            return false;
        var trimmed = text.Trim();
        if (trimmed.StartsWith('-'))
        {
            // HOCON's duration reader takes no sign; a negative spacing is how oslo disables a task.
            if (!TryParse(trimmed[1..], out var positive))
                return false;
            value = -positive;
            return true;
        }

        try
        {
            value = ConfigurationFactory.ParseString($"v = \"{text.Trim()}\"").GetTimeSpan("v", null, allowInfinite: false);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>Compact HOCON form: 500ms, 90s, 10m, 1h, 1d (the largest unit that divides it exactly).</summary>
    public static string Format(TimeSpan value)
    {
        if (value == Timeout.InfiniteTimeSpan)
            return "infinite";
        var sign = value < TimeSpan.Zero ? "-" : "";
        var abs = value.Duration();
        if (abs == TimeSpan.Zero)
            return "0s";
        if (abs.Ticks % TimeSpan.TicksPerDay == 0) return sign + (abs.Ticks / TimeSpan.TicksPerDay) + "d";
        if (abs.Ticks % TimeSpan.TicksPerHour == 0) return sign + (abs.Ticks / TimeSpan.TicksPerHour) + "h";
        if (abs.Ticks % TimeSpan.TicksPerMinute == 0) return sign + (abs.Ticks / TimeSpan.TicksPerMinute) + "m";
        if (abs.Ticks % TimeSpan.TicksPerSecond == 0) return sign + (abs.Ticks / TimeSpan.TicksPerSecond) + "s";
        return sign + abs.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
    }
}
