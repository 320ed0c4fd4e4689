using System.Globalization;
using ActorScheduler.Configuration;
using Cronos;

namespace ActorScheduler.Scheduling;

/// <summary>One occurrence of a calendar schedule: the instant, its local time in the zone, and how daylight saving touched it.</summary>
/// <param name="Utc">The instant, in UTC.</param>
/// <param name="Local">The same instant with the zone's offset.</param>
/// <param name="Dst">Null, "moved out of the DST gap", "first copy of the repeated hour" or "second copy of the repeated hour".</param>
internal readonly record struct Occurrence(DateTimeOffset Utc, DateTimeOffset Local, string? Dst);

/// <summary>
/// A cron expression read in a time zone (docs/semantics.md, "Calendar tasks"). Occurrences follow vixie cron's
/// daylight-saving rules as Cronos computes them; computing the next one allocates nothing.
/// </summary>
internal sealed class CalendarSchedule
{
    public const string DefaultZone = "UTC";
    public const string MovedOutOfGap = "moved out of the DST gap";
    public const string FirstCopy = "first copy of the repeated hour";
    public const string SecondCopy = "second copy of the repeated hour";

    private const string Allowed = "use 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first, or a macro such as @daily";

    private readonly CronExpression _expression;

    private CalendarSchedule(string cron, string[] fields, CronExpression expression, TimeZoneInfo zone)
    {
        Cron = cron;
        _expression = expression;
        Fields = fields;
        Zone = zone;
    }

    /// <summary>The expression as written.</summary>
    public string Cron { get; }

    public TimeZoneInfo Zone { get; }

    /// <summary>The expression's fields, seconds first (a 5-field expression or a macro gets second 0).</summary>
    private string[] Fields { get; }

    /// <summary>
    /// Parses <paramref name="cron"/> read in <paramref name="timeZone"/>. <paramref name="error"/> turns a key
    /// ("cron" or "time-zone") and the problem into the caller's exception, so each source names its own place.
    /// </summary>
    public static CalendarSchedule Parse(string cron, string timeZone, Func<string, string, Exception> error)
    {
        ArgumentNullException.ThrowIfNull(cron);
        ArgumentNullException.ThrowIfNull(error);
        var text = cron.Trim();
        var fields = text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (text.Length == 0)
            throw error("cron", $"is empty; {Allowed}.");
        var macro = text.StartsWith('@');
        if (macro && fields.Length != 1)
            throw error("cron", $"\"{text}\" is not allowed: a macro stands alone; {Allowed}.");
        if (!macro && fields.Length is not (5 or 6))
            throw error("cron", $"\"{text}\" has {fields.Length} field{(fields.Length == 1 ? "" : "s")}; {Allowed}.");

        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(text, fields.Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw error("cron", $"\"{text}\" is not a valid cron expression ({e.Message.TrimEnd('.')}); {Allowed}.");
        }

        var zone = ResolveZone(timeZone, error);
        var normalised = macro ? Macro(text) : fields.Length == 5 ? ["0", .. fields] : fields;
        return new CalendarSchedule(text, normalised, expression, zone);
    }

    /// <summary>The zone with this id (IANA ids, and Windows ids where the system knows them), or null.</summary>
    public static TimeZoneInfo? FindZone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
            return null;
        if (id.Trim() == DefaultZone)
            return TimeZoneInfo.Utc;
        return TimeZoneInfo.TryFindSystemTimeZoneById(id.Trim(), out var zone) ? zone : null;
    }

    /// <summary>The zone with this id, or <paramref name="error"/>("time-zone", the problem with up to three close ids).</summary>
    public static TimeZoneInfo ResolveZone(string timeZone, Func<string, string, Exception> error) =>
        FindZone(timeZone) ?? throw error("time-zone", UnknownZone(timeZone));

    /// <summary>The problem text for an unknown zone, with up to three close ids.</summary>
    private static string UnknownZone(string? id)
    {
        var text = id?.Trim() ?? "";
        var close = Suggestions.ClosestFew(text, TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).Append(DefaultZone).Distinct(), 3);
        var hint = close.Count == 0 ? "" : $"; did you mean {string.Join(", ", close.Select(c => $"'{c}'"))}?";
        return $"\"{text}\" is not a known time zone{hint} Use an IANA id such as Europe/Berlin, America/New_York or UTC.";
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, or null when there is none.</summary>
    public DateTimeOffset? Next(DateTimeOffset after) => _expression.GetNextOccurrence(after, Zone);

    /// <summary>How many occurrences lie in (<paramref name="after"/>, <paramref name="upTo"/>], counting at most <paramref name="cap"/>.</summary>
    public long Count(DateTimeOffset after, DateTimeOffset upTo, long cap)
    {
        long count = 0;
        var at = after;
        while (count < cap && _expression.GetNextOccurrence(at, Zone) is { } next && next <= upTo)
        {
            count++;
            at = next;
        }

        return count;
    }

    /// <summary>The next <paramref name="count"/> occurrences at or after <paramref name="from"/>, with their daylight-saving notes.</summary>
    public IEnumerable<Occurrence> Upcoming(DateTimeOffset from, int count)
    {
        var at = _expression.GetNextOccurrence(from, Zone, inclusive: true);
        for (var i = 0; i < count && at is { } next; i++)
        {
            yield return Describe(next);
            at = _expression.GetNextOccurrence(next, Zone);
        }
    }

    private Occurrence Describe(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        var local = TimeZoneInfo.ConvertTime(utc, Zone);
        string? note = null;
        if (Zone.IsAmbiguousTime(utc))
            note = local.Offset == Zone.GetAmbiguousTimeOffsets(utc).Max() ? FirstCopy : SecondCopy;
        else if (!Matches(local.DateTime))
            note = MovedOutOfGap;
        return new Occurrence(utc, local, note);
    }

    /// <summary>True when the expression names this wall-clock time itself (false for a time daylight saving moved).</summary>
    private bool Matches(DateTime wall)
    {
        var asUtc = DateTime.SpecifyKind(wall, DateTimeKind.Utc);
        return _expression.GetNextOccurrence(asUtc, inclusive: true) == asUtc;
    }

    /// <summary>The schedule in words for common shapes, with the zone: "at 02:30 every day (Europe/Berlin)".</summary>
    public string Describe() => $"{Words() ?? $"cron '{Cron}'"} ({Zone.Id})";

    private string? Words()
    {
        var (s, m, h, dom, month, dow) = (Fields[0], Fields[1], Fields[2], Fields[3], Fields[4], Fields[5]);
        var everyDay = dom == "*" && month == "*" && dow is "*" or "?";
        if (Step(s) is { } seconds && m == "*" && h == "*" && everyDay)
            return seconds == 1 ? "every second" : $"every {seconds} s";
        if (s != "0" || month != "*")
            return null;
        if (Step(m) is { } minutes && h == "*" && everyDay)
            return minutes == 1 ? "every minute" : $"every {minutes} minutes";
        if (Number(m) is not { } minute)
            return null;
        if (Step(h) is { } hours && everyDay)
            return hours == 1 ? $"every hour at :{minute:00}" : $"every {hours} hours at :{minute:00}";
        if (Number(h) is not { } hour)
            return null;
        var at = $"at {hour:00}:{minute:00}";
        if (everyDay)
            return $"{at} every day";
        if (dom == "L" && dow is "*" or "?")
            return $"{at} on the last day of the month";
        if (Number(dom) is { } day && dow is "*" or "?")
            return $"{at} on day {day} of the month";
        if (dom is "*" or "?" && Days(dow) is { } days)
            return $"{at} on {days}";
        return null;
    }

    /// <summary>"*" is 1, "*/n" is n; anything else is not a plain step.</summary>
    private static int? Step(string field) =>
        field == "*" ? 1 : field.StartsWith("*/", StringComparison.Ordinal) && int.TryParse(field[2..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static int? Number(string field) =>
        int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static readonly string[] DayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

    /// <summary>A day-of-week list or range in words ("Mon-Fri", "Sat,Sun"), or null for other shapes.</summary>
    private static string? Days(string field)
    {
        var parts = new List<string>();
        foreach (var item in field.Split(','))
        {
            var ends = item.Split('-');
            if (ends.Length > 2)
                return null;
            var names = new List<string>();
            foreach (var end in ends)
            {
                if (Number(end) is { } n && n <= 7)
                    names.Add(DayNames[n]);
                else if (DayNames.FirstOrDefault(d => string.Equals(d, end, StringComparison.OrdinalIgnoreCase)) is { } name)
                    names.Add(name);
                else
                    return null;
            }

            parts.Add(string.Join("-", names));
        }

        return string.Join(",", parts);
    }

    /// <summary>A macro's fields, seconds first.</summary>
    private static string[] Macro(string macro) => macro.ToLowerInvariant() switch
    {
        "@every_second" => ["*", "*", "*", "*", "*", "*"],
        "@every_minute" => ["0", "*", "*", "*", "*", "*"],
        "@hourly" => ["0", "0", "*", "*", "*", "*"],
        "@daily" or "@midnight" => ["0", "0", "0", "*", "*", "*"],
        "@weekly" => ["0", "0", "0", "*", "*", "0"],
        "@monthly" => ["0", "0", "0", "1", "*", "*"],
        "@yearly" or "@annually" => ["0", "0", "0", "1", "1", "*"],
        _ => ["?", "?", "?", "?", "?", "?"],
    };
}
