using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Configuration;

namespace ActorScheduler.Host.Cli;

/// <summary>
/// <c>status</c>, <c>pause</c>, <c>resume</c>, <c>trigger</c>: a running host's tasks over its HTTP API (docs/host.md,
/// "Controlling a running host"). Exit 0 done; 1 the host refused (the reason on one line); 2 a usage error; 4 no
/// host answered.
/// </summary>
internal static class ControlCommands
{
    /// <summary>The host's URL when --url is not given.</summary>
    public const string UrlVariable = "ACTOR_SCHEDULER_URL";

    /// <summary>How long a command waits for the host's answer.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEnumerable<Command> Build(TextWriter output, TextWriter error)
    {
        var status = new Command("status", "Show a running host's tasks: state, next due time, last run, counters.");
        var (statusUrl, statusToken) = AddTarget(status);
        status.SetAction(async (result, _) =>
        {
            var target = Target("status", result.GetValue(statusUrl), result.GetValue(statusToken));
            return await SendAsync("status", target, HttpMethod.Get, "api/tasks", null, output, error,
                json => output.Write(RenderStatus(json, target.Url))).ConfigureAwait(false);
        });
        yield return status;

        var pause = new Command("pause", "Pause a task of a running host: it is not run until resumed (or until --until).");
        var pauseTask = TaskArgument();
        var note = new Option<string>("--note") { Description = "Why it is paused (shown by status and the page).", HelpName = "TEXT" };
        var until = new Option<string>("--until")
        {
            Description = "End the pause by itself at this time: ISO-8601 with an offset, or a duration from now (30m, 2h).", HelpName = "TIME",
        };
        pause.Arguments.Add(pauseTask);
        pause.Options.Add(note);
        pause.Options.Add(until);
        var (pauseUrl, pauseToken) = AddTarget(pause);
        pause.SetAction(async (result, _) =>
        {
            var untilTime = Until(result.GetValue(until));
            var target = Target("pause", result.GetValue(pauseUrl), result.GetValue(pauseToken));
            var body = new Dictionary<string, string>();
            if (result.GetValue(note) is { } text)
                body["note"] = text;
            if (untilTime is { } t)
                body["until"] = t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            return await ChangeAsync("pause", target, result.GetValue(pauseTask)!, body, output, error).ConfigureAwait(false);
        });
        yield return pause;

        foreach (var (name, description) in new[]
                 {
                     ("resume", "Resume a paused task of a running host: it runs again at its next due time."),
                     ("trigger", "Run a task of a running host now, as if it were due (its schedule does not change)."),
                 })
        {
            var command = new Command(name, description);
            var task = TaskArgument();
            command.Arguments.Add(task);
            var (url, token) = AddTarget(command);
            command.SetAction(async (result, _) =>
            {
                var target = Target(name, result.GetValue(url), result.GetValue(token));
                return await ChangeAsync(name, target, result.GetValue(task)!, null, output, error).ConfigureAwait(false);
            });
            yield return command;
        }
    }

    private static Argument<string> TaskArgument() => new("TASK") { Description = "The task's name (see status)." };

    private static (Option<string> Url, Option<string> Token) AddTarget(Command command)
    {
        var url = new Option<string>("--url")
        {
            Description = $"The host's URL, as run logs it (a ?token= in it is used too; default: {UrlVariable}).", HelpName = "URL",
        };
        var token = new Option<string>("--token")
        {
            Description = $"The host's token (default: the URL's ?token=, else {HttpSettings.TokenVariable}).", HelpName = "TOKEN",
        };
        command.Options.Add(url);
        command.Options.Add(token);
        return (url, token);
    }

    /// <summary>The host's base URL (ending in /) and the token to send.</summary>
    internal sealed record HostTarget(Uri Url, string? Token);

    /// <summary>--url, else ACTOR_SCHEDULER_URL; --token, else the URL's ?token=, else ACTOR_SCHEDULER_TOKEN.</summary>
    /// <exception cref="HostConfigurationException">no URL anywhere, or not an http(s) URL.</exception>
    internal static HostTarget Target(string command, string? url, string? token)
    {
        var (text, where) = url is not null ? (url, "--url") : (Environment.GetEnvironmentVariable(UrlVariable), UrlVariable);
        if (string.IsNullOrWhiteSpace(text))
            throw new HostConfigurationException(
                $"{command}: no host URL; give --url URL or set {UrlVariable} (run logs the URL: 'HTTP: listening on http://...').");
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new HostConfigurationException($"{where}: \"{text}\" is not a URL; use the one run logs, such as http://127.0.0.1:8080/.");
        var fromQuery = QueryToken(uri.Query);
        var path = uri.AbsolutePath.EndsWith('/') ? uri.AbsolutePath : uri.AbsolutePath + "/";
        var baseUrl = new UriBuilder(uri.Scheme, uri.Host, uri.Port, path).Uri;
        var chosen = token ?? fromQuery ?? Environment.GetEnvironmentVariable(HttpSettings.TokenVariable);
        return new HostTarget(baseUrl, string.IsNullOrWhiteSpace(chosen) ? null : chosen.Trim());
    }

    private static string? QueryToken(string query)
    {
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            if (equals > 0 && Uri.UnescapeDataString(pair[..equals]) == "token")
                return Uri.UnescapeDataString(pair[(equals + 1)..]);
        }

        return null;
    }

    /// <summary>--until: ISO-8601 with an offset, or a duration from now.</summary>
    internal static DateTimeOffset? Until(string? text)
    {
        if (text is null)
            return null;
        if (Durations.TryParse(text, out var after))
        {
            if (after <= TimeSpan.Zero)
                throw new HostConfigurationException($"--until: \"{text}\" is not in the future; use a duration > 0 or a later time.");
            return DateTimeOffset.UtcNow + after;
        }

        DateTimeOffset time;
        try
        {
            time = HostCli.StartTime(text);
        }
        catch (HostConfigurationException e)
        {
            throw new HostConfigurationException(e.Message.Replace("--start:", "--until:", StringComparison.Ordinal)
                .Replace("use ISO-8601", "use a duration (30m, 2h) or ISO-8601", StringComparison.Ordinal));
        }

        if (time <= DateTimeOffset.UtcNow)
            throw new HostConfigurationException($"--until: \"{text}\" is not in the future; use a later time or a duration (30m, 2h).");
        return time;
    }

    private static Task<int> ChangeAsync(
        string command, HostTarget target, string task, object? body, TextWriter output, TextWriter error) =>
        SendAsync(command, target, HttpMethod.Post, $"api/tasks/{Uri.EscapeDataString(task)}/{command}", body, output, error,
            json => output.WriteLine($"{task}: {Past(command)}; now {State(json, withNextDue: true)}"));

    /// <summary>Sends one request; writes the answer with <paramref name="write"/>, or the refusal or the failure on one line.</summary>
    private static async Task<int> SendAsync(
        string command, HostTarget target, HttpMethod method, string path, object? body, TextWriter output, TextWriter error,
        Action<JsonElement> write)
    {
        using var http = new HttpClient { Timeout = RequestTimeout };
        using var request = new HttpRequestMessage(method, new Uri(target.Url, path));
        if (target.Token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", target.Token);
        if (method == HttpMethod.Post)
            request.Content = new StringContent(body is null ? "{}" : JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/json");

        HttpResponseMessage response;
        string text;
        try
        {
            response = await http.SendAsync(request).ConfigureAwait(false);
            text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            var reason = e.InnerException is SocketException socket ? socket.Message : e.Message;
            error.WriteLine($"error: {command}: no host answered at {target.Url}: {ConfigLoader.OneLine(reason).TrimEnd('.')}.");
            return ExitCodes.NoHost;
        }
        catch (TaskCanceledException)
        {
            error.WriteLine($"error: {command}: no host answered at {target.Url} within {Durations.Format(RequestTimeout)}.");
            return ExitCodes.NoHost;
        }

        using (response)
        {
            JsonElement? json = null;
            try
            {
                json = JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
            }

            var code = (int)response.StatusCode;
            if (response.IsSuccessStatusCode && json is { ValueKind: JsonValueKind.Object } answer)
            {
                write(answer);
                output.Flush();
                return ExitCodes.Success;
            }

            var message = json is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty("error", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : response.IsSuccessStatusCode
                    ? $"the answer from {target.Url} is not the host's JSON (is this URL an actor-scheduler host?)"
                    : $"{response.ReasonPhrase ?? "refused"}";
            error.WriteLine($"error: {command}: {ConfigLoader.OneLine(message).TrimEnd('.')} (HTTP {code}{Hint(response.StatusCode, target)})");
            return ExitCodes.Refused;
        }
    }

    private static string Hint(HttpStatusCode status, HostTarget target) => status switch
    {
        HttpStatusCode.Unauthorized when target.Token is null =>
            $"; give --token, or set {HttpSettings.TokenVariable}, or use the URL with ?token= that run logs",
        HttpStatusCode.Unauthorized => "; the token is not this host's",
        _ => "",
    };

    private static string Past(string command) => command switch
    {
        "pause" => "paused",
        "resume" => "resumed",
        "trigger" => "triggered",
        _ => command,
    };

    /// <summary>The status table: one row per task, like list's.</summary>
    internal static string RenderStatus(JsonElement json, Uri url)
    {
        var tasks = json.TryGetProperty("tasks", out var t) && t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().ToList() : [];
        var sb = new StringBuilder();
        var set = Str(json, "set") ?? "?";
        var paused = tasks.Count(x => Bool(x, "paused"));
        var running = tasks.Count(x => Bool(x, "running"));
        sb.Append(CultureInfo.InvariantCulture,
            $"Task set {set} at {url}: {tasks.Count} task{(tasks.Count == 1 ? "" : "s")}, {running} running, {paused} paused");
        if (json.TryGetProperty("tick", out var tick) && tick.ValueKind == JsonValueKind.Number)
            sb.Append(CultureInfo.InvariantCulture, $", tick {tick.GetInt64()}");
        if (Bool(json, "readOnly"))
            sb.Append(" (read-only)");
        sb.AppendLine();

        var now = DateTimeOffset.UtcNow;
        var nodes = tasks.Any(x => Str(x, "node") is not null) && tasks.Select(x => Str(x, "node")).Distinct().Count() > 1;
        string[] header = nodes
            ? ["TASK", "SCHEDULE", "STATE", "NEXT DUE", "LAST RUN", "RUNS", "FAILED", "NODE"]
            : ["TASK", "SCHEDULE", "STATE", "NEXT DUE", "LAST RUN", "RUNS", "FAILED"];
        var rows = tasks.Select(x =>
        {
            string[] row =
            [
                Str(x, "name") ?? "?", Str(x, "schedule") ?? "", State(x, withNextDue: false), When(Time(x, "nextDueAt"), now) ?? "-",
                LastRun(x, now), Num(x, "runs"), Num(x, "failed"),
            ];
            return nodes ? [.. row, Str(x, "node") ?? "-"] : row;
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        Append(sb, header, widths);
        foreach (var row in rows)
            Append(sb, row, widths);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            var numeric = i is 5 or 6;
            if (i > 0)
                sb.Append("  ");
            sb.Append(numeric ? cells[i].PadLeft(widths[i]) : i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i]));
        }

        sb.AppendLine();
    }

    /// <summary>idle, running, disabled or "paused: note, until TIME" (a running task may also be paused).</summary>
    private static string State(JsonElement task, bool withNextDue)
    {
        var parts = new List<string>();
        if (Bool(task, "running"))
            parts.Add("running");
        if (Bool(task, "paused"))
        {
            var details = new[] { Str(task, "pauseNote"), Time(task, "pausedUntil") is { } until ? $"until {Short(until)}" : null }.OfType<string>().ToList();
            parts.Add(details.Count == 0 ? "paused" : $"paused: {string.Join(", ", details)}");
        }

        if (task.TryGetProperty("enabled", out var enabled) && enabled.ValueKind == JsonValueKind.False)
            parts.Add("disabled");
        if (parts.Count == 0)
            parts.Add("idle");
        var state = string.Join("; ", parts);
        return withNextDue && When(Time(task, "nextDueAt"), DateTimeOffset.UtcNow) is { } next ? $"{state}; next due {next}" : state;
    }

    private static string LastRun(JsonElement task, DateTimeOffset now)
    {
        if (!task.TryGetProperty("lastRun", out var last) || last.ValueKind != JsonValueKind.Object)
            return "-";
        var outcome = Str(last, "outcome") ?? "ran";
        var at = Time(last, "startedAt");
        return at is null ? outcome : $"{outcome} {When(at, now)}";
    }

    /// <summary>HH:mm:ssZ, with the date when it is not today (UTC), and how far from now.</summary>
    private static string? When(DateTimeOffset? time, DateTimeOffset now)
    {
        if (time is not { } t)
            return null;
        var delta = t - now;
        var relative = delta >= TimeSpan.Zero ? $"in {Rough(delta)}" : $"{Rough(-delta)} ago";
        return $"{Short(t)} ({relative})";
    }

    private static string Short(DateTimeOffset t) =>
        t.UtcDateTime.ToString(t.UtcDateTime.Date == DateTime.UtcNow.Date ? "HH:mm:ss'Z'" : "yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Rough(TimeSpan d) => d.TotalSeconds < 1 ? "<1s"
        : d.TotalMinutes < 1 ? $"{(int)d.TotalSeconds}s"
        : d.TotalHours < 1 ? $"{(int)d.TotalMinutes}m"
        : d.TotalDays < 1 ? $"{(int)d.TotalHours}h"
        : $"{(int)d.TotalDays}d";

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Bool(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static string Num(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64().ToString(CultureInfo.InvariantCulture) : "-";

    private static DateTimeOffset? Time(JsonElement e, string name) =>
        Str(e, name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
}
