using System.Globalization;
using System.Text.Json;
using ActorScheduler.Messages;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace ActorScheduler.Dashboard;

/// <summary>The JSON API of one mapped console: tasks, a task, its run history, the runs chart, pause, resume, trigger, readiness, events.</summary>
internal sealed class DashboardApi(Func<IServiceProvider, PeriodicTaskClient> client, DashboardEvents events, Func<HttpContext, PeriodicTaskDashboardOptions> options)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The most recent runs a task's detail shows.</summary>
    private const int DetailRuns = 50;

    private PeriodicTaskClient Client(HttpContext http) => client(http.RequestServices);

    public async Task<IResult> List(HttpContext http)
    {
        var report = await Client(http).GetStatsAsync(http.RequestAborted).ConfigureAwait(false);
        var query = http.Request.Query;
        var search = query["search"].ToString().Trim();
        var offset = Number(query, "offset") ?? 0;
        var limit = Number(query, "limit");
        var all = report.Tasks;
        var matched = search.Length == 0 ? all : all.Where(t => t.Task.Contains(search, StringComparison.OrdinalIgnoreCase)).ToList();
        var page = matched.Skip(offset).Take(limit ?? int.MaxValue).Select(t => View(report.SetName, t)).ToList();
        var failing = all.Count(t => events.Runs.Of(report.SetName, t.Task, 8).FirstOrDefault(r => r.Outcome != "running")?.Outcome is "failed" or "timed-out");
        var summary = new TaskSummary(all.Count(t => t.Running), all.Count(t => t.Paused), failing, all.Count(t => !t.Enabled));
        return Ok(new TaskListView(report.SetName, report.CurrentTick, options(http).ReadOnly, events.Remote, events.Node,
            all.Count, matched.Count, offset, summary, page));
    }

    public async Task<IResult> Get(HttpContext http, string name)
    {
        var (set, stats) = await Task(http, name).ConfigureAwait(false);
        return Ok(Detail(set, stats, await KeptRuns(http, name).ConfigureAwait(false)));
    }

    /// <summary>GET api/tasks/{name}/runs?before=ISO-8601&amp;limit=N: a page of the task's run history, newest first.</summary>
    public async Task<IResult> Runs(HttpContext http, string name)
    {
        var query = http.Request.Query;
        var before = Before(query);
        var limit = Limit(query);
        var page = await Client(http).GetRunsAsync(name, before, limit, http.RequestAborted).ConfigureAwait(false);
        return Ok(RunsPageView.Of(page));
    }

    /// <summary>GET api/runs/chart?window=hour|day: the set's runs and failures per bucket of the window.</summary>
    public async Task<IResult> Chart(HttpContext http)
    {
        var window = RunChartWindow.Of(http.Request.Query);
        var first = window.First(DateTimeOffset.UtcNow);
        var counts = await Client(http).GetRunCountsAsync(first, http.RequestAborted).ConfigureAwait(false);
        return Ok(window.Chart(first, counts));
    }

    public async Task<IResult> Pause(HttpContext http, string name)
    {
        var (note, until) = await PauseBody(http).ConfigureAwait(false);
        var c = Client(http);
        await c.PauseAsync(name, note, until, http.RequestAborted).ConfigureAwait(false);
        return await Get(http, name).ConfigureAwait(false);
    }

    public async Task<IResult> Resume(HttpContext http, string name)
    {
        await NoBody(http, "resume").ConfigureAwait(false);
        await Client(http).ResumeAsync(name, http.RequestAborted).ConfigureAwait(false);
        return await Get(http, name).ConfigureAwait(false);
    }

    public async Task<IResult> Trigger(HttpContext http, string name)
    {
        await NoBody(http, "trigger").ConfigureAwait(false);
        var triggered = await Client(http).TriggerAsync(name, http.RequestAborted).ConfigureAwait(false);
        if (!triggered.Started)
            throw new DashboardRequestException(StatusCodes.Status409Conflict,
                $"task '{name}' has a run in flight and overlap = skip: the trigger was counted as an overrun (tick {triggered.Tick}).");
        return await Get(http, name).ConfigureAwait(false);
    }

    public async Task<IResult> Ready(HttpContext http)
    {
        var check = new PeriodicTaskSetHealthCheck(Client(http));
        var result = await check.CheckHealthAsync(new(), http.RequestAborted).ConfigureAwait(false);
        return result.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy
            ? Ok(new { status = "ready", detail = result.Description })
            : Results.Json(new { status = "not ready", error = result.Description }, Json, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    public async Task<IResult> Events(HttpContext http)
    {
        var report = await Client(http).GetStatsAsync(http.RequestAborted).ConfigureAwait(false);
        var lifetime = (IHostApplicationLifetime?)http.RequestServices.GetService(typeof(IHostApplicationLifetime));
        return new EventStreamResult(events, report.SetName, options(http).PingInterval, lifetime?.ApplicationStopping ?? CancellationToken.None);
    }

    private async Task<(string Set, TaskStats Stats)> Task(HttpContext http, string name)
    {
        // The whole report (not GetTaskAsync) for its set name, which keys the recent runs.
        var report = await Client(http).GetStatsAsync(http.RequestAborted).ConfigureAwait(false);
        var stats = report.Tasks.FirstOrDefault(t => t.Task == name);
        if (stats is null)
            await Client(http).GetTaskAsync(name, http.RequestAborted).ConfigureAwait(false); // throws not found, with a suggestion
        return (report.SetName, stats ?? throw new DashboardRequestException(StatusCodes.Status404NotFound, $"no task named '{name}'."));
    }

    private TaskView View(string set, TaskStats stats) =>
        TaskView.Of(stats, events.Runs.Of(set, stats.Task, TaskView.StripLength), events.Remote ? null : events.Node);

    /// <summary>
    /// The runs seen here, with the runs the set's state store keeps (from other nodes, or from before a restart) that
    /// were not seen here, newest first.
    /// </summary>
    private TaskView Detail(string set, TaskStats stats, IReadOnlyList<PeriodicTaskRun> kept)
    {
        var runs = events.Runs.Of(set, stats.Task, DetailRuns);
        if (kept.Count > 0)
        {
            var seen = runs.Select(r => r.Tick).ToHashSet();
            runs = runs
                .Concat(kept.Where(k => !seen.Contains(k.Tick)).Select(k => new RunRecord(
                    k.Tick, k.Attempts, k.ScheduledAt, k.StartedAt, EventJson.Milliseconds(k.Duration), k.Outcome, null, k.Node)))
                .OrderByDescending(r => r.StartedAt)
                .Take(DetailRuns)
                .ToList();
        }

        return TaskView.Of(stats, runs, events.Remote ? null : events.Node) with { RecentRuns = runs.Select(RunView.Of).ToList() };
    }

    /// <summary>The task's runs as its set's state store keeps them; none without a store, or when the store does not answer.</summary>
    private async Task<IReadOnlyList<PeriodicTaskRun>> KeptRuns(HttpContext http, string name)
    {
        try
        {
            return (await Client(http).GetRecentRunsAsync(name, http.RequestAborted).ConfigureAwait(false)).Runs;
        }
        catch (Exception e) when (e is TaskSetNotReadyException or PeriodicTaskNotFoundException or InvalidOperationException)
        {
            return [];
        }
    }

    internal static IResult Ok(object value) => Results.Json(value, Json);

    private static int? Number(IQueryCollection query, string name)
    {
        var text = query[name].ToString();
        if (text.Length == 0)
            return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new DashboardRequestException(StatusCodes.Status400BadRequest, $"{name}: '{text}' is not a whole number >= 0.");
    }

    /// <summary>The query's before: an ISO-8601 time with an offset; null when there is none (the newest runs).</summary>
    private static DateTimeOffset? Before(IQueryCollection query)
    {
        var text = query["before"].ToString();
        if (text.Length == 0)
            return null;
        return Time(text) ?? throw Bad($"before: '{text}' is not an ISO-8601 time with an offset (2026-05-01T12:00:00.000Z, as a page's next gives it).");
    }

    /// <summary>The query's limit: a whole number from 1 to GetRuns.MaxLimit; GetRuns.DefaultLimit when there is none.</summary>
    private static int Limit(IQueryCollection query)
    {
        var text = query["limit"].ToString();
        if (text.Length == 0)
            return GetRuns.DefaultLimit;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= GetRuns.MaxLimit
            ? n
            : throw Bad($"limit: '{text}' is not a whole number from 1 to {GetRuns.MaxLimit}.");
    }

    /// <summary>Reads pause's optional body {"note": "...", "until": "ISO-8601"}.</summary>
    internal static async Task<(string? Note, DateTimeOffset? Until)> PauseBody(HttpContext http)
    {
        using var body = await ReadBody(http).ConfigureAwait(false);
        if (body is null)
            return (null, null);
        string? note = null;
        DateTimeOffset? until = null;
        foreach (var field in body.RootElement.EnumerateObject())
        {
            switch (field.Name)
            {
                case "note":
                    if (field.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                        throw Bad("note: must be a string.");
                    note = field.Value.GetString();
                    break;
                case "until":
                    if (field.Value.ValueKind == JsonValueKind.Null)
                        break;
                    if (field.Value.ValueKind != JsonValueKind.String)
                        throw Bad("until: must be an ISO-8601 time with an offset, as a string (2026-05-01T12:00:00Z).");
                    until = Until(field.Value.GetString()!);
                    break;
                default:
                    throw Bad($"{field.Name}: unknown field (pause takes note and until).");
            }
        }

        return (note, until);
    }

    /// <summary>An ISO-8601 time with a Z or an offset, in the future.</summary>
    internal static DateTimeOffset Until(string text)
    {
        var until = Time(text) ?? throw Bad($"until: '{text}' is not an ISO-8601 time with an offset (2026-05-01T12:00:00Z, 2026-05-01T14:00:00+02:00).");
        if (until <= DateTimeOffset.UtcNow)
            throw Bad($"until: {EventJson.Iso(until)} is not in the future.");
        return until;
    }

    /// <summary>An ISO-8601 time with a Z or an offset (up to seven digits of a second); null for anything else.</summary>
    private static DateTimeOffset? Time(string text)
    {
        string[] formats = ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK"];
        return (text.EndsWith('Z') || text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':')
            && DateTimeOffset.TryParseExact(text, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
                ? time
                : null;
    }

    private static async Task NoBody(HttpContext http, string action)
    {
        using var body = await ReadBody(http).ConfigureAwait(false);
        if (body is null)
            return;
        foreach (var field in body.RootElement.EnumerateObject())
            throw Bad($"{field.Name}: unknown field ({action} takes no fields).");
    }

    /// <summary>The request's JSON object, or null when the body is empty.</summary>
    private static async Task<JsonDocument?> ReadBody(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        var text = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
            return null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw Bad($"body: malformed JSON ({EventJson.OneLine(e.Message)}).");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw Bad("body: must be a JSON object.");
        }

        return document;
    }

    private static DashboardRequestException Bad(string message) => new(StatusCodes.Status400BadRequest, message);
}

/// <summary>
/// GET api/events: Server-Sent Events, one "data: {json}" per event, a ": ping" comment after <paramref name="ping"/>
/// without one, until the client leaves or the host stops.
/// </summary>
internal sealed class EventStreamResult(DashboardEvents events, string set, TimeSpan ping, CancellationToken stopping) : IResult
{
    public async Task ExecuteAsync(HttpContext http)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        using var subscription = events.Subscribe(set);
        using var end = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        var body = http.Response.Body;
        try
        {
            await body.WriteAsync("retry: 2000\n: connected\n\n"u8.ToArray(), end.Token).ConfigureAwait(false);
            await body.FlushAsync(end.Token).ConfigureAwait(false);
            var reader = subscription.Reader;
            while (!end.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(end.Token);
                wait.CancelAfter(ping);
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!end.IsCancellationRequested)
                {
                    await body.WriteAsync(": ping\n\n"u8.ToArray(), end.Token).ConfigureAwait(false);
                    await body.FlushAsync(end.Token).ConfigureAwait(false);
                    continue;
                }

                if (!more)
                    break;
                while (reader.TryRead(out var json))
                {
                    await body.WriteAsync("data: "u8.ToArray(), end.Token).ConfigureAwait(false);
                    await body.WriteAsync(json, end.Token).ConfigureAwait(false);
                    await body.WriteAsync("\n\n"u8.ToArray(), end.Token).ConfigureAwait(false);
                }

                await body.FlushAsync(end.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client left, or the host is stopping: the stream ends.
        }
    }
}
