using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary><c>run</c> serves the console over HTTP: the endpoint, the token, the listening line and event, --http.</summary>
public class HttpTests
{
    internal const string Quick = """
        actor-scheduler {
          periodic-interval = 100ms
          initial-delay = 0s
          tasks { ok { command = "true" } }
        }
        """;

    [Fact]
    public async Task Run_serves_on_a_free_loopback_port_logs_the_page_with_a_generated_token_and_writes_the_listening_event()
    {
        using var dir = new TempDir();
        var config = dir.Write("quick.conf", Quick);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, Environment(), "run", "--config", config, "--events", events);
        var (url, token) = await ServingHost.WaitAsync(host, events);

        Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", url);
        Assert.NotNull(token);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", token); // 32 bytes, base64url without padding
        var line = host.Stdout.Split('\n').Single(l => l.Contains("HTTP: listening on", StringComparison.Ordinal));
        Assert.Contains($"page: {url}?token={token}", line);
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            using var anonymous = await http.GetAsync(url + "api/tasks");
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            using var wrong = await Get(http, url + "api/tasks", "not-the-token");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            using var authorized = await Get(http, url + "api/tasks", token);
            Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
            Assert.Contains("\"ok\"", await authorized.Content.ReadAsStringAsync());
            using var health = await http.GetAsync(url + "healthz");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        host.Signal(HostProcess.SigInt);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var listening = Event.ReadFile(events).Single(e => e.Name == "listening");
        Assert.Equal(["event", "url", "time"], listening.Raw.EnumerateObject().Select(p => p.Name));
        Assert.Equal(url, listening.Raw.GetProperty("url").GetString());
        Assert.DoesNotContain(token, File.ReadAllText(events));
    }

    [Fact]
    public async Task The_console_serves_a_tasks_run_history_and_the_runs_chart()
    {
        using var dir = new TempDir();
        var config = dir.Write("quick.conf", Quick);
        var events = dir.File("events.jsonl");
        const string secret = "history-token";
        using var host = HostProcess.Start(dir.Path, Environment(secret), "run", "--config", config, "--events", events);
        var (url, _) = await ServingHost.WaitAsync(host, events);
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            using var runs = await Get(http, url + "api/tasks/ok/runs?limit=5", secret);
            Assert.Equal(HttpStatusCode.OK, runs.StatusCode);
            Assert.StartsWith("{\"runs\":[", await runs.Content.ReadAsStringAsync());
            using var chart = await Get(http, url + "api/runs/chart?window=day", secret);
            Assert.Equal(HttpStatusCode.OK, chart.StatusCode);
            Assert.StartsWith("{\"window\":\"day\",\"stepMinutes\":15,\"buckets\":[", await chart.Content.ReadAsStringAsync());
            using var unknown = await Get(http, url + "api/tasks/okk/runs", secret);
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        host.Signal(HostProcess.SigInt);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_token_from_the_environment_is_the_one_asked_for_and_is_never_printed()
    {
        using var dir = new TempDir();
        var config = dir.Write("quick.conf", Quick);
        var events = dir.File("events.jsonl");
        const string secret = "an-operator-chosen-token";
        using var host = HostProcess.Start(dir.Path, Environment(secret), "run", "--config", config, "--events", events);
        var (url, token) = await ServingHost.WaitAsync(host, events);

        Assert.Null(token);
        Assert.Contains("token from ACTOR_SCHEDULER_TOKEN", host.Stdout);
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
        {
            using var ok = await Get(http, url + "api/tasks", secret);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        host.Signal(HostProcess.SigInt);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(secret, host.Stdout + host.Stderr + File.ReadAllText(events));
    }

    [Fact]
    public async Task Http_off_serves_nothing_and_the_other_commands_never_serve()
    {
        using var dir = new TempDir();
        var config = dir.Write("quick.conf", Quick);
        var events = dir.File("events.jsonl");

        var run = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--http", "off", "--events", events],
            _ => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "ok" }), "ok succeeded", Environment());
        var once = await HostProcess.RunAsync(dir.Path, ["run-once", "ok", "--config", config], Environment());

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain("HTTP:", run.Stdout);
        Assert.DoesNotContain(Event.ReadFile(events), e => e.Name == "listening");
        Assert.Contains(Event.ReadFile(events), e => e is { Name: "succeeded", Task: "ok" });
        Assert.True(once.ExitCode == 0, once.ToString());
        Assert.DoesNotContain("HTTP:", once.Stdout + once.Stderr);
    }

    [Fact]
    public async Task A_non_loopback_endpoint_needs_a_configured_token()
    {
        using var dir = new TempDir();
        var config = dir.Write("quick.conf", Quick);

        var refused = await HostProcess.RunAsync(dir.Path, ["run", "--config", config, "--for", "1s", "--http", "0.0.0.0:0"], Environment());
        var badOption = await HostProcess.RunAsync(dir.Path, ["run", "--config", config, "--for", "1s", "--http", "somewhere"], Environment());

        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Equal(
            "error: actor-scheduler-host.http.token: required when the endpoint is not a loopback address (--http = 0.0.0.0:0); " +
            "set it, or the environment variable ACTOR_SCHEDULER_TOKEN, or listen on 127.0.0.1.",
            refused.Stderr.Trim());
        Assert.True(badOption.ExitCode == 2, badOption.ToString());
        Assert.StartsWith("error: --http: \"somewhere\" is not an endpoint; use HOST:PORT", badOption.Stderr.Trim());
        Assert.Single(badOption.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_port_already_taken_is_exit_2_naming_the_endpoint_key()
    {
        using var dir = new TempDir();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var config = dir.Write("quick.conf", Quick + $"\nactor-scheduler-host.http.endpoint = \"127.0.0.1:{port}\"\n");

        var result = await HostProcess.RunAsync(dir.Path, ["run", "--config", config, "--for", "1s"], Environment());

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"error: actor-scheduler-host.http.endpoint: cannot listen on 127.0.0.1:{port}: ", result.Stderr);
        Assert.Contains("another process has the port", result.Stderr);
        Assert.DoesNotContain("periodic tasks", result.Stdout); // found before the task set starts
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr);
    }

    [Fact]
    public async Task With_an_OTLP_endpoint_that_nothing_answers_run_still_runs_and_exits_0()
    {
        using var dir = new TempDir();
        var config = dir.Write("quick.conf", Quick);
        var environment = Environment();
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{ServingHost.ClosedPort()}";

        var events = dir.File("events.jsonl");

        var result = await HostProcess.RunUntilAsync(dir.Path, ["run", "--config", config, "--http", "off", "--events", events],
            _ => Event.ReadWritten(events).Count(e => e is { Name: "succeeded", Task: "ok" }) >= 2, "ok succeeded twice", environment);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.Summary("ok").Succeeded >= 2, result.ToString());
    }

    /// <summary>The host's environment: no token unless given (a token in the test runner's environment must not leak in).</summary>
    internal static Dictionary<string, string> Environment(string? token = null) =>
        new() { ["ACTOR_SCHEDULER_TOKEN"] = token ?? "", ["ACTOR_SCHEDULER_URL"] = "" };

    private static Task<HttpResponseMessage> Get(HttpClient http, string url, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request);
    }
}

/// <summary>A running host's console: its URL (from the listening event) and the generated token (from the log line).</summary>
internal static partial class ServingHost
{
    public static async Task<(string Url, string? Token)> WaitAsync(HostProcess host, string events)
    {
        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e.Name == "listening")
                                        && host.Stdout.Contains("HTTP: listening on", StringComparison.Ordinal), "the listening event and log line");
        var url = Event.ReadWritten(events).First(e => e.Name == "listening").Raw.GetProperty("url").GetString()!;
        var token = PageToken().Match(host.Stdout);
        return (url, token.Success ? token.Groups[1].Value : null);
    }

    /// <summary>A loopback port nothing listens on (taken and released).</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [GeneratedRegex(@"page: http://\S+/\?token=([A-Za-z0-9_-]+)")]
    private static partial Regex PageToken();
}
