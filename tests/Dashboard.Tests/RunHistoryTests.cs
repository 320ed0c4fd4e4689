using System.Globalization;
using System.Net;
using System.Text.Json;
using Xunit;
using static ActorScheduler.Dashboard.Tests.DashboardHost;

namespace ActorScheduler.Dashboard.Tests;

/// <summary>GET api/tasks/{name}/runs (a task's run history, in pages) and GET api/runs/chart (runs and failures over time).</summary>
public sealed class RunHistoryTests(DashboardHost host) : IClassFixture<DashboardHost>
{
    private readonly HttpClient _http = host.Client();

    [Fact]
    public async Task Paging_through_the_history_gives_every_run_once_newest_first()
    {
        await TriggerRuns(_http, "broken", 5);
        var whole = await History(_http, "broken");
        Assert.True(whole.Count >= 5, $"{whole.Count} runs");

        var paged = new List<JsonElement>();
        var pages = 0;
        string? before = null;
        do
        {
            var query = before is null ? "limit=2" : "limit=2&before=" + Uri.EscapeDataString(before);
            var response = await _http.GetAsync("dash/api/tasks/broken/runs?" + query);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await Json(response);
            var runs = page.GetProperty("runs").EnumerateArray().ToList();
            before = page.GetProperty("next").GetString();
            if (before is not null) // milliseconds, or seven digits for a start between two milliseconds
                Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(\d{4})?Z$", before);
            Assert.Equal(before is null ? (whole.Count - 1) % 2 + 1 : 2, runs.Count);
            paged.AddRange(runs);
            pages++;
        }
        while (before is not null);

        Assert.Equal((whole.Count + 1) / 2, pages);
        Assert.Equal(whole.Select(r => r.GetRawText()), paged.Select(r => r.GetRawText()));
        var starts = paged.Select(r => DateTimeOffset.Parse(r.GetProperty("startedAt").GetString()!, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(starts.OrderByDescending(s => s), starts);
    }

    [Fact]
    public async Task A_failed_run_has_its_error_and_the_fields_of_recent_runs_with_its_end()
    {
        await TriggerRuns(_http, "broken", 1);
        var run = (await History(_http, "broken"))[0];
        Assert.Equal(["tick", "attempt", "scheduledAt", "startedAt", "endedAt", "durationMs", "outcome", "error", "node"],
            run.EnumerateObject().Select(p => p.Name));
        Assert.Equal("failed", run.GetProperty("outcome").GetString());
        Assert.Equal("connection refused: backup.internal:5432", run.GetProperty("error").GetString());
        Assert.Equal(1, run.GetProperty("attempt").GetInt32());
        foreach (var field in new[] { "scheduledAt", "startedAt", "endedAt" })
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", run.GetProperty(field).GetString());
        var started = DateTimeOffset.Parse(run.GetProperty("startedAt").GetString()!, CultureInfo.InvariantCulture);
        var ended = DateTimeOffset.Parse(run.GetProperty("endedAt").GetString()!, CultureInfo.InvariantCulture);
        Assert.True(ended >= started, $"ended {ended:O} before it started {started:O}");
        Assert.True(run.GetProperty("durationMs").GetInt64() >= 0);
    }

    [Fact]
    public async Task A_run_that_succeeded_on_its_retry_is_one_run_with_its_last_attempt_and_no_error()
    {
        await TriggerRuns(_http, "flaky", 1);
        var run = Assert.Single(await History(_http, "flaky"));
        Assert.Equal("succeeded", run.GetProperty("outcome").GetString());
        Assert.Equal(2, run.GetProperty("attempt").GetInt32());
        Assert.Equal(JsonValueKind.Null, run.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task A_time_before_every_run_gives_an_empty_last_page()
    {
        foreach (var before in new[] { "2001-01-01T00:00:00Z", "2001-01-01T02:00:00.1234567+02:00" })
        {
            var page = await Json(await _http.GetAsync("dash/api/tasks/fast/runs?before=" + Uri.EscapeDataString(before)));
            Assert.Empty(page.GetProperty("runs").EnumerateArray());
            Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);
        }
    }

    [Theory]
    [InlineData("dash/api/tasks/idle/runs?before=yesterday", "before")]
    [InlineData("dash/api/tasks/idle/runs?before=2026-01-01T00:00:00", "before")] // no offset
    [InlineData("dash/api/tasks/idle/runs?limit=0", "limit")]
    [InlineData("dash/api/tasks/idle/runs?limit=1001", "limit")]
    [InlineData("dash/api/tasks/idle/runs?limit=-1", "limit")]
    [InlineData("dash/api/tasks/idle/runs?limit=ten", "limit")]
    [InlineData("dash/api/runs/chart?window=week", "window")]
    public async Task A_bad_query_parameter_is_400_naming_it(string path, string parameter)
    {
        var response = await _http.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await Json(response)).GetProperty("error").GetString()!;
        Assert.StartsWith(parameter + ":", error);
        Assert.DoesNotContain(" at ", error); // no stack trace
    }

    [Fact]
    public async Task The_history_of_an_unknown_task_is_404_with_a_suggestion()
    {
        var response = await _http.GetAsync("dash/api/tasks/idel/runs");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal($"no task named 'idel' in task set '{host.SetName}'; did you mean 'idle'?", (await Json(response)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Without_the_token_the_history_and_the_chart_are_401()
    {
        var anonymous = host.Client(token: false);
        foreach (var path in new[] { "dash/api/tasks/idle/runs", "dash/api/runs/chart" })
        {
            var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("token", (await Json(response)).GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task A_set_that_does_not_answer_is_503_for_the_history_and_the_chart()
    {
        foreach (var path in new[] { "down/api/tasks/idle/runs", "down/api/runs/chart" })
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _http.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task The_charts_buckets_add_up_to_the_runs_that_ended()
    {
        // The tasks that run by themselves are paused, so that no run ends between the stats and the chart.
        foreach (var task in new[] { "fast", "hasty" })
            Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync($"dash/api/tasks/{task}/pause", null)).StatusCode);
        try
        {
            await Eventually(async () => (await Json(await _http.GetAsync("dash/api/tasks"))).GetProperty("tasks").EnumerateArray()
                .All(t => !t.GetProperty("running").GetBoolean()), "no run in flight");
            await TriggerRuns(_http, "broken", 1);
            await TriggerRuns(_http, "sleepy", 1);

            var tasks = (await Json(await _http.GetAsync("dash/api/tasks"))).GetProperty("tasks").EnumerateArray().ToList();
            var ended = tasks.Sum(t => Count(t, "succeeded") + Count(t, "failed") + Count(t, "timedOut") + Count(t, "cancelled"));
            var failed = tasks.Sum(t => Count(t, "failed") + Count(t, "timedOut"));
            Assert.True(failed >= 1 && ended > failed, $"{ended} runs ended, {failed} failed");

            foreach (var (window, step, count) in new[] { ("hour", 1, 60), ("day", 15, 96) })
            {
                var now = DateTimeOffset.UtcNow;
                var chart = await Json(await _http.GetAsync("dash/api/runs/chart?window=" + window));
                Assert.Equal(window, chart.GetProperty("window").GetString());
                Assert.Equal(step, chart.GetProperty("stepMinutes").GetInt32());
                var buckets = chart.GetProperty("buckets").EnumerateArray().ToList();
                Assert.Equal(count, buckets.Count);
                var starts = buckets.Select(b => DateTimeOffset.Parse(b.GetProperty("at").GetString()!, CultureInfo.InvariantCulture)).ToList();
                Assert.All(starts.Zip(starts.Skip(1)), pair => Assert.Equal(TimeSpan.FromMinutes(step), pair.Second - pair.First));
                Assert.InRange(now - starts[^1], TimeSpan.FromSeconds(-5), TimeSpan.FromMinutes(step)); // the last bucket is the one in progress
                Assert.Contains(buckets, b => b.GetProperty("runs").GetInt64() == 0); // empty buckets are there too
                Assert.Equal(ended, buckets.Sum(b => b.GetProperty("runs").GetInt64()));
                Assert.Equal(failed, buckets.Sum(b => b.GetProperty("failed").GetInt64()));
            }

            var plain = await Json(await _http.GetAsync("dash/api/runs/chart"));
            Assert.Equal("hour", plain.GetProperty("window").GetString());
        }
        finally
        {
            foreach (var task in new[] { "fast", "hasty" })
                await _http.PostAsync($"dash/api/tasks/{task}/resume", null);
        }
    }

    private static long Count(JsonElement task, string counter) => task.GetProperty(counter).GetInt64();
}
