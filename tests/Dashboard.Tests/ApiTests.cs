using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;
using static ActorScheduler.Dashboard.Tests.DashboardHost;

namespace ActorScheduler.Dashboard.Tests;

/// <summary>The JSON API: routes, objects and every error status.</summary>
public sealed class ApiTests(DashboardHost host) : IClassFixture<DashboardHost>
{
    private readonly HttpClient _http = host.Client();

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Tasks_lists_every_task_with_the_contract_fields()
    {
        var response = await _http.GetAsync("dash/api/tasks");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = await Json(response);
        Assert.Equal(host.SetName, json.GetProperty("set").GetString());
        Assert.False(json.GetProperty("readOnly").GetBoolean());
        var tasks = json.GetProperty("tasks").EnumerateArray().ToList();
        Assert.Equal(DashboardHost.Tasks, tasks.Select(t => t.GetProperty("name").GetString()));
        string[] fields = ["name", "schedule", "enabled", "paused", "pauseNote", "pausedUntil", "running", "nextDueAt", "lastRun", "runs",
            "succeeded", "failed", "timedOut", "overruns", "missed", "node"];
        foreach (var task in tasks)
            foreach (var field in fields)
                Assert.True(task.TryGetProperty(field, out _), $"{task.GetProperty("name")} has no {field}");
        Assert.Equal("every 100001 ticks = 10000.1 s", tasks[5].GetProperty("schedule").GetString());
    }

    [Fact]
    public async Task A_task_that_ran_on_another_node_shows_the_runs_its_state_store_keeps()
    {
        var json = await Json(await _http.GetAsync("kept/api/tasks/remote"));
        var runs = json.GetProperty("recentRuns").EnumerateArray().ToList();
        Assert.Equal([4L, 3L], runs.Select(r => r.GetProperty("tick").GetInt64()));
        Assert.Equal(["succeeded", "failed"], runs.Select(r => r.GetProperty("outcome").GetString()));
        Assert.Equal(2, runs[1].GetProperty("attempt").GetInt32());
        Assert.All(runs, r => Assert.Equal(KeptRunsManager.Node, r.GetProperty("node").GetString()));
        Assert.Equal(KeptRunsManager.Node, json.GetProperty("node").GetString());
    }

    [Fact]
    public async Task Tasks_can_be_searched_and_paged()
    {
        var json = await Json(await _http.GetAsync("dash/api/tasks?search=L&offset=1&limit=1"));
        Assert.Equal(DashboardHost.Tasks.Length, json.GetProperty("total").GetInt32());
        Assert.Equal(4, json.GetProperty("matched").GetInt32()); // flaky, slow, idle, sleepy
        Assert.Equal(["slow"], json.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        var bad = await _http.GetAsync("dash/api/tasks?limit=x");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("limit", (await Json(bad)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task The_first_run_is_seen_even_though_the_console_was_registered_before_Akka()
    {
        await Eventually(async () => (await Json(await _http.GetAsync("dash/api/tasks/once"))).GetProperty("recentRuns").GetArrayLength() == 1, "once ran");
        var once = await Json(await _http.GetAsync("dash/api/tasks/once"));
        var run = once.GetProperty("recentRuns")[0];
        Assert.Equal(0, run.GetProperty("tick").GetInt64());
        Assert.Equal("succeeded", run.GetProperty("outcome").GetString());
        Assert.Equal("succeeded", once.GetProperty("lastRun").GetProperty("outcome").GetString());
        Assert.StartsWith("akka://dashboard-test", once.GetProperty("node").GetString());
    }

    [Fact]
    public async Task Recent_runs_are_newest_first_with_their_attempt_and_error()
    {
        var triggered = await _http.PostAsync("dash/api/tasks/flaky/trigger", null);
        Assert.Equal(HttpStatusCode.OK, triggered.StatusCode);
        // Attempt 1 fails ("disk full"), attempt 2 (the retry) succeeds.
        await Eventually(async () => (await Json(await _http.GetAsync("dash/api/tasks/flaky"))).GetProperty("recentRuns")
            .EnumerateArray().Any(r => r.GetProperty("attempt").GetInt32() == 2 && r.GetProperty("outcome").GetString() == "succeeded"), "the retry succeeded");
        var runs = (await Json(await _http.GetAsync("dash/api/tasks/flaky"))).GetProperty("recentRuns").EnumerateArray().ToList();
        Assert.Equal(2, runs[0].GetProperty("attempt").GetInt32());
        Assert.Equal("succeeded", runs[0].GetProperty("outcome").GetString());
        Assert.Equal(1, runs[1].GetProperty("attempt").GetInt32());
        Assert.Equal("failed", runs[1].GetProperty("outcome").GetString());
        Assert.Equal("disk full on /var", runs[1].GetProperty("error").GetString());
        Assert.Equal(runs[0].GetProperty("tick").GetInt64(), runs[1].GetProperty("tick").GetInt64());
        foreach (var field in new[] { "scheduledAt", "startedAt", "durationMs", "node" })
            Assert.True(runs[0].TryGetProperty(field, out _), field);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", runs[0].GetProperty("startedAt").GetString());
    }

    [Fact]
    public async Task Pause_with_a_note_and_until_then_resume()
    {
        var until = DateTimeOffset.UtcNow.AddHours(1);
        var paused = await _http.PostAsync("dash/api/tasks/idle/pause", Body($$"""{"note":"storage migration","until":"{{until:yyyy-MM-ddTHH:mm:ssZ}}"}"""));
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        var task = await Json(paused);
        Assert.True(task.GetProperty("paused").GetBoolean());
        Assert.Equal("storage migration", task.GetProperty("pauseNote").GetString());
        Assert.Equal(until.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss") + ".000Z", task.GetProperty("pausedUntil").GetString());

        var resumed = await Json(await _http.PostAsync("dash/api/tasks/idle/resume", null));
        Assert.False(resumed.GetProperty("paused").GetBoolean());
        var bare = await _http.PostAsync("dash/api/tasks/idle/pause", null);
        Assert.True((await Json(bare)).GetProperty("paused").GetBoolean());
        await _http.PostAsync("dash/api/tasks/idle/resume", Body("{}"));
    }

    [Theory]
    [InlineData("{\"note\": ", "body")]
    [InlineData("[1]", "body")]
    [InlineData("{\"until\":\"tomorrow\"}", "until")]
    [InlineData("{\"until\":\"2030-01-01T00:00:00\"}", "until")] // no offset
    [InlineData("{\"until\":\"2001-01-01T00:00:00Z\"}", "until")] // not in the future
    [InlineData("{\"note\":3}", "note")]
    [InlineData("{\"reason\":\"x\"}", "reason")]
    public async Task A_bad_pause_body_is_400_naming_the_field(string body, string field)
    {
        var response = await _http.PostAsync("dash/api/tasks/sleepy/pause", Body(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(field + ":", (await Json(response)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task An_unknown_task_is_404_with_a_suggestion()
    {
        foreach (var request in new Func<Task<HttpResponseMessage>>[]
                 {
                     () => _http.GetAsync("dash/api/tasks/idel"),
                     () => _http.PostAsync("dash/api/tasks/idel/pause", null),
                     () => _http.PostAsync("dash/api/tasks/idel/resume", null),
                     () => _http.PostAsync("dash/api/tasks/idel/trigger", null),
                 })
        {
            var response = await request();
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal($"no task named 'idel' in task set '{host.SetName}'; did you mean 'idle'?", (await Json(response)).GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task A_trigger_during_a_run_in_flight_of_a_skip_task_is_409()
    {
        host.ResetSlow();
        var first = await _http.PostAsync("dash/api/tasks/slow/trigger", null);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await host.SlowStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var second = await _http.PostAsync("dash/api/tasks/slow/trigger", null);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains("overlap = skip", (await Json(second)).GetProperty("error").GetString());
        host.SlowGate.Release();
        await Eventually(async () => !(await Json(await _http.GetAsync("dash/api/tasks/slow"))).GetProperty("running").GetBoolean(), "slow ended");
    }

    [Fact]
    public async Task A_set_that_does_not_answer_is_503_and_not_ready()
    {
        var tasks = await _http.GetAsync("down/api/tasks");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, tasks.StatusCode);
        Assert.Contains("did not answer", (await Json(tasks)).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _http.PostAsync("down/api/tasks/x/pause", null)).StatusCode);
        var ready = await _http.GetAsync("down/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.True((await Json(ready)).TryGetProperty("error", out _));
    }

    [Fact]
    public async Task Health_and_readiness_need_no_token()
    {
        var anonymous = host.Client(token: false);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("dash/healthz")).StatusCode);
        var ready = await anonymous.GetAsync("dash/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", (await Json(ready)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Without_the_token_every_other_route_is_401_json()
    {
        var anonymous = host.Client(token: false);
        foreach (var path in new[] { "dash/", "dash/api/tasks", "dash/api/tasks/idle", "dash/api/events", "dash/assets/dashboard.js" })
        {
            var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("token", (await Json(response)).GetProperty("error").GetString());
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("dash/api/tasks/idle/pause", null)).StatusCode);
        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("dash/api/tasks")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client(token: false).GetAsync("dash/?token=wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client(token: false).GetAsync("open/api/tasks")).StatusCode);
    }

    [Fact]
    public async Task The_token_in_the_query_sets_a_strict_http_only_cookie_and_redirects_without_it()
    {
        var anonymous = host.Client(token: false);
        var first = await anonymous.GetAsync("dash/?token=secret&search=fl");
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        Assert.Equal("/dash/?search=fl", first.Headers.Location?.ToString());
        var cookie = Assert.Single(first.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("actor-scheduler-token=secret;", cookie);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        var page = new HttpRequestMessage(HttpMethod.Get, "dash/?search=fl");
        page.Headers.Add("Cookie", "actor-scheduler-token=secret");
        var loaded = await anonymous.SendAsync(page);
        Assert.Equal(HttpStatusCode.OK, loaded.StatusCode);
        Assert.Equal("text/html", loaded.Content.Headers.ContentType?.MediaType);
        var api = new HttpRequestMessage(HttpMethod.Get, "dash/api/tasks");
        api.Headers.Add("Cookie", "actor-scheduler-token=secret");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(api)).StatusCode);
        var bare = await _http.GetAsync("dash");
        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/dash/", bare.Headers.Location?.ToString());
    }

    [Fact]
    public async Task Read_only_refuses_every_change_with_403_and_says_so()
    {
        foreach (var action in new[] { "pause", "resume", "trigger" })
        {
            var response = await _http.PostAsync($"ro/api/tasks/idle/{action}", null);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("read-only", (await Json(response)).GetProperty("error").GetString());
        }

        Assert.True((await Json(await _http.GetAsync("ro/api/tasks"))).GetProperty("readOnly").GetBoolean());
        Assert.False((await Json(await _http.GetAsync("ro/api/tasks/idle"))).GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task A_trigger_refused_by_a_read_only_console_runs_nothing()
    {
        var refused = await _http.PostAsync("ro/api/tasks/sleepy/trigger", null);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("read-only", (await Json(refused)).GetProperty("error").GetString());

        // The manager handles a trigger before the ticks that follow it: two ticks later a run it had started would be
        // in flight or counted. sleepy is due only every 100,000 ticks and no other test of this host triggers it.
        var tick = (await Json(await _http.GetAsync("dash/api/tasks"))).GetProperty("tick").GetInt64();
        await Eventually(async () => (await Json(await _http.GetAsync("dash/api/tasks"))).GetProperty("tick").GetInt64() >= tick + 2, "two more ticks");
        var sleepy = await Json(await _http.GetAsync("dash/api/tasks/sleepy"));
        Assert.Equal((0, false), (sleepy.GetProperty("runs").GetInt32(), sleepy.GetProperty("running").GetBoolean()));
        Assert.Empty(sleepy.GetProperty("recentRuns").EnumerateArray());
    }

    [Fact]
    public async Task A_wrong_cookie_is_401()
    {
        var anonymous = host.Client(token: false);
        foreach (var path in new[] { "dash/", "dash/api/tasks" })
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Cookie", DashboardSecurity.CookieName + "=not-the-token");
            var response = await anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("token", (await Json(response)).GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task The_page_is_never_stored_and_has_a_content_security_policy()
    {
        var page = await _http.GetAsync("dash/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.True(page.Headers.CacheControl?.NoStore, $"Cache-Control: {page.Headers.CacheControl}");
        Assert.True(page.Headers.TryGetValues("Content-Security-Policy", out var policies), "no Content-Security-Policy header");
        var policy = Assert.Single(policies);
        Assert.Contains("default-src 'self'", policy);
        Assert.Contains("script-src 'self'", policy);
        Assert.Contains("frame-ancestors 'none'", policy);
    }

    [Fact]
    public async Task The_page_and_its_assets_are_served()
    {
        var page = await (await _http.GetAsync("dash/")).Content.ReadAsStringAsync();
        Assert.Contains("assets/dashboard.js", page);
        foreach (var asset in new[] { "dashboard.js", "dashboard.css" })
            Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("dash/assets/" + asset)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("dash/assets/nothing.js")).StatusCode);
    }
}
