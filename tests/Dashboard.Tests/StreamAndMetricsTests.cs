using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ActorScheduler.Messages;
using Xunit;
using static ActorScheduler.Dashboard.Tests.DashboardHost;

namespace ActorScheduler.Dashboard.Tests;

/// <summary>Server-Sent Events, Prometheus metrics and the recent runs keeper.</summary>
public sealed class StreamAndMetricsTests(DashboardHost host) : IClassFixture<DashboardHost>
{
    private readonly HttpClient _http = host.Client();

    [Fact]
    public async Task The_event_stream_delivers_run_and_control_events_as_json_lines()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await _http.GetAsync("dash/api/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));

        async Task<JsonElement> Next(Func<JsonElement, bool> match)
        {
            while (await reader.ReadLineAsync(cancel.Token) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                    continue;
                var json = JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone();
                Assert.Equal("", await reader.ReadLineAsync(cancel.Token)); // each event ends with a blank line
                if (match(json))
                    return json;
            }

            throw new EndOfStreamException("the stream ended");
        }

        var run = await Next(e => e.GetProperty("event").GetString() == "succeeded" && e.GetProperty("task").GetString() == "fast");
        Assert.Equal(["event", "task", "tick", "time", "attempt", "durationMs"], run.EnumerateObject().Select(p => p.Name));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", run.GetProperty("time").GetString());

        var until = DateTimeOffset.UtcNow.AddMinutes(5);
        var pause = await _http.PostAsync("dash/api/tasks/sleepy/pause",
            new StringContent($$"""{"note":"maintenance","until":"{{until:O}}"}""", System.Text.Encoding.UTF8, "application/json"), cancel.Token);
        Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        var paused = await Next(e => e.GetProperty("event").GetString() == "paused");
        Assert.Equal("sleepy", paused.GetProperty("task").GetString());
        Assert.Equal("maintenance", paused.GetProperty("note").GetString());
        Assert.Equal(EventJson.Iso(until), paused.GetProperty("until").GetString());

        await _http.PostAsync("dash/api/tasks/sleepy/resume", null, cancel.Token);
        var resumed = await Next(e => e.GetProperty("event").GetString() == "resumed");
        Assert.Equal("sleepy", resumed.GetProperty("task").GetString());
    }

    [Fact]
    public async Task The_stream_ends_when_the_client_leaves()
    {
        var events = host.App.Services.GetService(typeof(DashboardEvents)) as DashboardEvents;
        Assert.NotNull(events);
        var before = events.SubscriberCount;
        using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            var response = await _http.GetAsync("dash/api/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            await Eventually(() => Task.FromResult(events.SubscriberCount == before + 1), "subscribed");
            response.Dispose();
        }

        await Eventually(() => Task.FromResult(events.SubscriberCount == before), "unsubscribed after the client left");
    }

    [Fact]
    public async Task Metrics_are_prometheus_text_with_runs_per_task_and_outcome_without_a_token()
    {
        var anonymous = host.Client(token: false);
        await _http.PostAsync("dash/api/tasks/broken/trigger", null);
        await _http.PostAsync("dash/api/tasks/idle/pause", null);
        string text = "";
        await Eventually(async () =>
        {
            var response = await anonymous.GetAsync("dash/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            text = await response.Content.ReadAsStringAsync();
            return Sample(text, "actor_scheduler_task_runs_total", ("set", "jobs"), ("task", "broken"), ("outcome", "failed")) >= 1 // >=: the meter is per process, other test hosts run "jobs" too
                && Sample(text, "actor_scheduler_task_runs_total", ("set", "jobs"), ("task", "fast"), ("outcome", "succeeded")) >= 1
                && Sample(text, "actor_scheduler_tasks_paused", ("set", "jobs")) >= 1;
        }, "the runs counter of broken (failed) and fast (succeeded), one task paused");
        await _http.PostAsync("dash/api/tasks/idle/resume", null);

        Assert.Contains("# TYPE actor_scheduler_task_runs_total counter", text);
        Assert.Contains("actor_scheduler_task_duration_milliseconds_bucket", text);
        Assert.Matches(@"(?m)^actor_scheduler_tasks_paused\{", text);
        Assert.Matches(@"(?m)^actor_scheduler_runs_in_flight\{", text);
        // Every sample line is NAME{LABELS} VALUE [TIMESTAMP].
        foreach (var line in text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')))
            Assert.Matches(@"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+( \d+)?$", line);
    }

    /// <summary>The value of the sample of <paramref name="name"/> with these labels (-1 when none).</summary>
    private static double Sample(string text, string name, params (string Label, string Value)[] labels)
    {
        foreach (Match m in Regex.Matches(text, $@"(?m)^{name}\{{([^}}]*)\}} (\S+)"))
        {
            var found = Regex.Matches(m.Groups[1].Value, @"(\w+)=""([^""]*)""").ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value);
            if (labels.All(l => found.GetValueOrDefault(l.Label) == l.Value))
                return double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        return -1;
    }

    [Fact]
    public void Recent_runs_keep_at_most_n_per_task_newest_first_and_forget_removed_tasks()
    {
        var runs = new RecentRuns(3);
        var t0 = DateTimeOffset.UnixEpoch;
        for (var tick = 0; tick < 5; tick++)
        {
            runs.Add(new PeriodicTaskStarted("s", "a", tick, t0, t0), "node");
            runs.Add(new PeriodicTaskSucceeded("s", "a", tick, t0, t0, TimeSpan.FromMilliseconds(tick)), "node");
        }

        runs.Add(new PeriodicTaskStarted("s", "a", 5, t0, t0), "node");
        Assert.Equal([(5L, "running"), (4L, "succeeded"), (3L, "succeeded")], runs.Of("s", "a").Select(r => (r.Tick, r.Outcome)));
        runs.Add(new PeriodicTaskFailed("s", "a", 5, t0, t0, TimeSpan.Zero, new Exception("boom")), "node");
        Assert.Equal(("failed", "boom"), (runs.Of("s", "a")[0].Outcome, runs.Of("s", "a")[0].Error));
        Assert.Empty(runs.Of("other-set", "a"));
        runs.Remove("s", "a");
        Assert.Empty(runs.Of("s", "a"));
        Assert.Equal(0, runs.TaskCount);
    }
}
