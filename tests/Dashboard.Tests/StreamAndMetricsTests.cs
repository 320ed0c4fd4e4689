using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ActorScheduler.Messages;
using Xunit;
using Xunit.Abstractions;
using static ActorScheduler.Dashboard.Tests.DashboardHost;

namespace ActorScheduler.Dashboard.Tests;

/// <summary>
/// A fact that needs Prometheus's promtool (/usr/bin/promtool: Debian's prometheus package): skipped, with the reason,
/// when it is missing, unless ACTOR_SCHEDULER_REQUIRE_PROMTOOL=1 (CI, .ci/setup.d/55-promtool.sh), where it runs and fails.
/// </summary>
public sealed class PromtoolFactAttribute : FactAttribute
{
    public const string Promtool = "/usr/bin/promtool";

    public PromtoolFactAttribute()
    {
        if (!File.Exists(Promtool) && Environment.GetEnvironmentVariable("ACTOR_SCHEDULER_REQUIRE_PROMTOOL") != "1")
            Skip = $"the metrics check needs {Promtool} (apt-get install prometheus; .ci/setup.d/55-promtool.sh does it).";
    }
}

/// <summary>Server-Sent Events, Prometheus metrics and the recent runs keeper.</summary>
public sealed class StreamAndMetricsTests(DashboardHost host, ITestOutputHelper output) : IClassFixture<DashboardHost>
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
    public async Task The_stream_asks_for_a_reconnection_after_2_s_before_any_event()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await _http.GetAsync("dash/api/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        Assert.Equal("retry: 2000", await reader.ReadLineAsync(cancel.Token));
    }

    [Fact]
    public async Task A_silent_stream_sends_a_ping_comment_after_the_ping_interval()
    {
        // /ping pings after 100 ms without an event (the default is 15 s). Events of fast every 100 ms may come between.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await _http.GetAsync("ping/api/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        var lines = new List<string>();
        try
        {
            while (await reader.ReadLineAsync(cancel.Token) is { } line && line != ": ping")
                lines.Add(line);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no ': ping' within 30 s; the stream sent:\n{string.Join("\n", lines.TakeLast(10))}");
        }

        Assert.Equal("", await reader.ReadLineAsync(cancel.Token)); // a comment ends with a blank line too
        Assert.Equal(TimeSpan.FromSeconds(15), new PeriodicTaskDashboardOptions().PingInterval);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => new PeriodicTaskDashboardOptions { PingInterval = TimeSpan.Zero });
        Assert.StartsWith("PingInterval:", bad.Message);
    }

    [Fact]
    public void A_slow_reader_loses_the_oldest_events_past_1024_queued_never_the_newest()
    {
        var events = new DashboardEvents(Microsoft.Extensions.Options.Options.Create(new PeriodicTaskDashboardOptions()));
        using var subscription = events.Subscribe("s");
        var t0 = DateTimeOffset.UnixEpoch;
        for (var tick = 1; tick <= 1500; tick++)
            events.Publish(new PeriodicTaskStarted("s", "a", tick, t0, t0));

        var ticks = new List<long>();
        while (subscription.Reader.TryRead(out var json))
            ticks.Add(JsonDocument.Parse(json).RootElement.GetProperty("tick").GetInt64());
        Assert.Equal(Enumerable.Range(1500 - 1024 + 1, 1024).Select(t => (long)t), ticks);
    }

    [Fact]
    public async Task The_stream_ends_when_the_host_stops()
    {
        var own = new DashboardHost();
        await own.InitializeAsync();
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var response = await own.Client().GetAsync("dash/api/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            Assert.Equal("retry: 2000", await reader.ReadLineAsync(cancel.Token));

            // The host waits up to its shutdown timeout (30 s) for requests in flight: the stream must end on the stop
            // itself, not be cut at that timeout.
            var stopping = own.App.StopAsync(CancellationToken.None);
            var lifetime = (Microsoft.Extensions.Hosting.IHostApplicationLifetime)own.App.Services.GetService(typeof(Microsoft.Extensions.Hosting.IHostApplicationLifetime))!;
            await Eventually(() => Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested), "the host is stopping", seconds: 30);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                while (await reader.ReadLineAsync(cancel.Token) is not null)
                {
                }
            }
            catch (IOException)
            {
                Assert.Fail($"the stream was cut after {clock.ElapsedMilliseconds} ms rather than ended by the server");
            }

            output.WriteLine($"the stream ended {clock.ElapsedMilliseconds} ms after the stop began");
            await stopping.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            await own.DisposeAsync();
        }
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
        await _http.PostAsync("dash/api/tasks/broken/trigger", null);
        await _http.PostAsync("dash/api/tasks/idle/pause", null);
        var text = await MetricsWhen(t => Sample(t, "actor_scheduler_task_runs_total", ("task", "broken"), ("outcome", "failed")) >= 1
                && Sample(t, "actor_scheduler_task_runs_total", ("task", "fast"), ("outcome", "succeeded")) >= 1
                && Sample(t, "actor_scheduler_tasks_paused") == 1,
            "the runs counter of broken (failed) and fast (succeeded), one task paused");
        await _http.PostAsync("dash/api/tasks/idle/resume", null);

        Assert.Contains("# TYPE actor_scheduler_task_runs_total counter", text);
        Assert.Contains("# TYPE actor_scheduler_task_duration_seconds histogram", text);
        Assert.True(Sample(text, "actor_scheduler_task_duration_seconds_bucket", ("task", "fast"), ("le", "1")) >= 1, "a run of fast in the 1 s bucket");
        Assert.Matches(@"(?m)^actor_scheduler_tasks_paused\{", text);
        Assert.Matches(@"(?m)^actor_scheduler_runs_in_flight\{", text);
        // Every sample line is NAME{LABELS} VALUE [TIMESTAMP].
        foreach (var line in text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')))
            Assert.Matches(@"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+( \d+)?$", line);
    }

    [Fact]
    public async Task Metrics_count_overruns_missed_due_times_and_timed_out_runs()
    {
        host.ResetSlow();
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("dash/api/tasks/slow/trigger", null)).StatusCode);
        await host.SlowStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Conflict, (await _http.PostAsync("dash/api/tasks/slow/trigger", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("dash/api/tasks/stuck/trigger", null)).StatusCode);
        try
        {
            // hasty is due every 25 ms at a 100 ms tick: each run coalesces due times, the others counted as missed.
            var text = await MetricsWhen(t => Sample(t, "actor_scheduler_task_overruns_total", ("task", "slow")) == 1
                    && Sample(t, "actor_scheduler_task_missed_total", ("task", "hasty")) >= 1
                    && Sample(t, "actor_scheduler_task_runs_total", ("task", "stuck"), ("outcome", "timed-out")) >= 1,
                "one overrun of slow, missed due times of hasty, a timed-out run of stuck");
            Assert.Contains("# TYPE actor_scheduler_task_overruns_total counter", text);
            Assert.Contains("# TYPE actor_scheduler_task_missed_total counter", text);
            Assert.Equal(-1, Sample(text, "actor_scheduler_task_runs_total", ("task", "stuck"), ("outcome", "failed")));
        }
        finally
        {
            host.SlowGate.Release();
        }
    }

    [Fact]
    public async Task A_failed_attempt_then_a_successful_retry_is_one_succeeded_run_in_the_metrics()
    {
        // flaky's first attempt fails ("disk full") and its retry, 50 ms later, succeeds.
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("dash/api/tasks/flaky/trigger", null)).StatusCode);
        var text = await MetricsWhen(t => Sample(t, "actor_scheduler_task_runs_total", ("task", "flaky"), ("outcome", "succeeded")) == 1,
            "one succeeded run of flaky");
        // The failed attempt ended before the retry: had it been counted, this scrape (taken after the retry) would show it.
        Assert.Equal(-1, Sample(text, "actor_scheduler_task_runs_total", ("task", "flaky"), ("outcome", "failed")));
        Assert.Equal(1, Sample(text, "actor_scheduler_task_duration_seconds_count", ("task", "flaky")));
        var runs = (await Json(await _http.GetAsync("dash/api/tasks/flaky"))).GetProperty("recentRuns").EnumerateArray()
            .Select(r => (r.GetProperty("attempt").GetInt32(), r.GetProperty("outcome").GetString())).ToList();
        Assert.Equal([(2, "succeeded"), (1, "failed")], runs);
    }

    [PromtoolFact]
    public async Task Promtool_finds_no_problem_in_the_metrics_after_runs_of_each_outcome()
    {
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("dash/api/tasks/broken/trigger", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync("dash/api/tasks/stuck/trigger", null)).StatusCode);
        await _http.PostAsync("dash/api/tasks/sleepy/pause", null);
        string text;
        try
        {
            text = await MetricsWhen(t => Sample(t, "actor_scheduler_task_runs_total", ("task", "fast"), ("outcome", "succeeded")) >= 1
                    && Sample(t, "actor_scheduler_task_runs_total", ("task", "broken"), ("outcome", "failed")) >= 1
                    && Sample(t, "actor_scheduler_task_runs_total", ("task", "stuck"), ("outcome", "timed-out")) >= 1
                    && Sample(t, "actor_scheduler_task_missed_total", ("task", "hasty")) >= 1
                    && Sample(t, "actor_scheduler_tasks_paused") >= 1,
                "runs that succeeded, failed and timed out, missed due times, a paused task");
        }
        finally
        {
            await _http.PostAsync("dash/api/tasks/sleepy/resume", null);
        }

        var start = new System.Diagnostics.ProcessStartInfo(PromtoolFactAttribute.Promtool, "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var promtool = System.Diagnostics.Process.Start(start)!;
        var stdout = promtool.StandardOutput.ReadToEndAsync();
        var stderr = promtool.StandardError.ReadToEndAsync();
        await promtool.StandardInput.WriteAsync(text);
        promtool.StandardInput.Close();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await promtool.WaitForExitAsync(cancel.Token);
        var report = (await stdout + await stderr).Trim();
        Assert.True(promtool.ExitCode == 0 && report.Length == 0,
            $"promtool check metrics exited with {promtool.ExitCode}:\n{report}\n--- the metrics ---\n{text}");
    }

    /// <summary>
    /// The metrics text (without the token) once <paramref name="condition"/> holds of it, polling for up to 60 s;
    /// on a failure, the counters of this host's set are shown.
    /// </summary>
    private async Task<string> MetricsWhen(Func<string, bool> condition, string what)
    {
        var anonymous = host.Client(token: false);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var response = await anonymous.GetAsync("dash/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            if (condition(text))
                return text;
            if (DateTime.UtcNow > deadline)
            {
                var mine = text.Split('\n').Where(l => l.Contains($"set=\"{host.SetName}\"") && !l.Contains("_bucket{"));
                Assert.Fail($"not within 60 s: {what}; the set's series:\n{string.Join("\n", mine)}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The value of the sample of <paramref name="name"/> with these labels in this host's set (-1 when none).</summary>
    private double Sample(string text, string name, params (string Label, string Value)[] labels) =>
        SampleOf(text, name, [("set", host.SetName), .. labels]);

    /// <summary>The value of the sample of <paramref name="name"/> with these labels (-1 when none).</summary>
    private static double SampleOf(string text, string name, params (string Label, string Value)[] labels)
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
