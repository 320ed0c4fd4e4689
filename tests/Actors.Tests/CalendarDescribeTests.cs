using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>CalendarSchedule: the schedule in words, and upcoming occurrences with their daylight-saving notes.</summary>
public class CalendarDescribeTests
{
    private static CalendarSchedule Parse(string cron, string zone = "UTC") =>
        CalendarSchedule.Parse(cron, zone, (key, problem) => new ArgumentException($"{key} {problem}"));

    [Theory]
    [InlineData("30 2 * * *", "Europe/Berlin", "at 02:30 every day (Europe/Berlin)")]
    [InlineData("*/30 * * * *", "UTC", "every 30 minutes (UTC)")]
    [InlineData("* * * * *", "UTC", "every minute (UTC)")]
    [InlineData("*/15 * * * * *", "UTC", "every 15 s (UTC)")]
    [InlineData("0 0 L * *", "UTC", "at 00:00 on the last day of the month (UTC)")]
    [InlineData("0 9 * * 1-5", "America/New_York", "at 09:00 on Mon-Fri (America/New_York)")]
    [InlineData("0 9 * * SAT,SUN", "UTC", "at 09:00 on Sat,Sun (UTC)")]
    [InlineData("0 4 15 * *", "UTC", "at 04:00 on day 15 of the month (UTC)")]
    [InlineData("15 */6 * * *", "UTC", "every 6 hours at :15 (UTC)")]
    [InlineData("@daily", "UTC", "at 00:00 every day (UTC)")]
    [InlineData("0 0 1 1 *", "UTC", "cron '0 0 1 1 *' (UTC)")]
    [InlineData("0 0 * * 5#3", "UTC", "cron '0 0 * * 5#3' (UTC)")]
    public void Describe_puts_common_shapes_in_words_and_others_as_the_expression(string cron, string zone, string expected) =>
        Assert.Equal(expected, Parse(cron, zone).Describe());

    [Fact]
    public void Stats_describe_a_calendar_task_through_its_options()
    {
        var options = new PeriodicTaskOptions { Cron = "30 2 * * *", TimeZone = "Europe/Berlin", RunImmediately = true };
        Assert.Equal("at 02:30 every day (Europe/Berlin), and at start", options.DescribeSchedule(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void Upcoming_notes_an_occurrence_moved_out_of_the_spring_gap()
    {
        var occurrences = Parse("30 2 * * *", "America/New_York")
            .Upcoming(new DateTimeOffset(2026, 3, 7, 0, 0, 0, TimeSpan.Zero), 3).ToList();
        Assert.Equal([null, CalendarSchedule.MovedOutOfGap, null], occurrences.Select(o => o.Dst));
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 7, 0, 0, TimeSpan.Zero), occurrences[1].Utc);
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 3, 0, 0, TimeSpan.FromHours(-4)), occurrences[1].Local);
        Assert.Equal(TimeSpan.FromHours(-4), occurrences[1].Local.Offset);
    }

    [Fact]
    public void Upcoming_notes_both_copies_of_the_repeated_hour()
    {
        var occurrences = Parse("*/30 * * * *", "Europe/Berlin")
            .Upcoming(new DateTimeOffset(2026, 10, 25, 0, 0, 0, TimeSpan.Zero), 4).ToList();
        Assert.Equal(
            [CalendarSchedule.FirstCopy, CalendarSchedule.FirstCopy, CalendarSchedule.SecondCopy, CalendarSchedule.SecondCopy],
            occurrences.Select(o => o.Dst));
        Assert.Equal([2, 2, 1, 1], occurrences.Select(o => o.Local.Offset.Hours));
        Assert.All(occurrences, o => Assert.Equal(2, o.Local.Hour));
    }

    [Fact]
    public void Upcoming_includes_an_occurrence_at_its_start_and_notes_nothing_on_ordinary_days()
    {
        var from = new DateTimeOffset(2026, 6, 1, 2, 30, 0, TimeSpan.Zero);
        var occurrences = Parse("30 2 * * *").Upcoming(from, 2).ToList();
        Assert.Equal([from, from.AddDays(1)], occurrences.Select(o => o.Utc));
        Assert.All(occurrences, o => Assert.Null(o.Dst));
    }
}
