using System.Globalization;
using System.Text;
using ActorScheduler.Messages;

namespace ActorScheduler.Host.Running;

/// <summary>The per-task summary printed when <c>run</c> or <c>simulate</c> ends.</summary>
internal static class SummaryTable
{
    /// <summary>One row: null counts print as "-" (simulate has no outcomes: no body runs).</summary>
    public sealed record Row(
        string Task, long Runs, long? Succeeded, long? Failed, long? TimedOut, long? Cancelled, long? Overruns, long? Missed,
        TimeSpan? Mean, TimeSpan? Max);

    public static IReadOnlyList<Row> FromStats(TaskStatsReport report) =>
        report.Tasks.Select(t => new Row(
            t.Task, t.Runs, t.Succeeded, t.Failed, t.TimedOut, t.Cancelled, t.Overruns, t.Missed, t.MeanDuration, t.MaxDuration)).ToList();

    public static string Render(string title, IReadOnlyList<Row> rows)
    {
        string[] header = ["TASK", "RUNS", "SUCCEEDED", "FAILED", "TIMED OUT", "CANCELLED", "OVERRUNS", "MISSED", "MEAN", "MAX"];
        var cells = rows.Select(r => new[]
        {
            r.Task, N(r.Runs), N(r.Succeeded), N(r.Failed), N(r.TimedOut), N(r.Cancelled), N(r.Overruns), N(r.Missed), Ms(r.Mean), Ms(r.Max),
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, cells.Count == 0 ? 0 : cells.Max(c => c[i].Length))).ToArray();

        var sb = new StringBuilder();
        sb.AppendLine(title);
        AppendRow(sb, header, widths);
        foreach (var row in cells)
            AppendRow(sb, row, widths);
        if (rows.Count == 0)
            sb.AppendLine("(no tasks)");
        return sb.ToString();
    }

    private static void AppendRow(StringBuilder sb, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            if (i == 0)
                sb.Append(cells[i].PadRight(widths[i]));
            else
                sb.Append("  ").Append(cells[i].PadLeft(widths[i]));
        }

        sb.AppendLine();
    }

    private static string N(long? value) => value is { } v ? v.ToString(CultureInfo.InvariantCulture) : "-";

    /// <summary>A duration in milliseconds, e.g. "12 ms", "1503 ms".</summary>
    public static string Ms(TimeSpan? value) =>
        value is { } v ? Math.Round(v.TotalMilliseconds).ToString("0", CultureInfo.InvariantCulture) + " ms" : "-";
}
