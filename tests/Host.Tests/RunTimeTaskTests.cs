using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>docs/host.md, "Adding and removing tasks at run time": PUT and DELETE api/tasks/NAME on the console.</summary>
public class RunTimeTaskTests
{
    [Fact]
    public async Task A_command_task_added_over_the_api_runs_a_bad_entry_is_refused_naming_its_key_and_a_removal_stops_it()
    {
        using var dir = new TempDir();
        var config = dir.Write("quick.conf", HttpTests.Quick);
        var events = dir.File("events.jsonl");
        using var host = HostProcess.Start(dir.Path, HttpTests.Environment(), "run", "--config", config, "--events", events);
        var (url, token) = await ServingHost.WaitAsync(host, events);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };

        using (var added = await Send(http, HttpMethod.Put, url + "api/tasks/added", token!, "command = \"true\"\nticks-between-runs = 0"))
        {
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
            Assert.Contains("\"task\":\"added\"", await added.Content.ReadAsStringAsync());
        }

        await host.WaitUntilAsync(() => Event.ReadWritten(events).Any(e => e is { Name: "succeeded", Task: "added" }), "a run of the added task");

        await AssertRefused(HttpStatusCode.Conflict, "a task named 'added' exists", "added", """{ "command": "true" }""");
        await AssertRefused(HttpStatusCode.BadRequest, "actor-scheduler.tasks.late.spacing", "late", """{ "command": "true", "spacing": "soon" }""");
        await AssertRefused(HttpStatusCode.BadRequest, "actor-scheduler.tasks.bare.command: is missing", "bare", "spacing = 1s");
        await AssertRefused(HttpStatusCode.BadRequest, "not valid HOCON or JSON", "broken", "{ command = \"true\"");
        await AssertRefused(HttpStatusCode.BadRequest, "cannot include files", "included", "include \"/etc/hostname\"\ncommand = true");
        await AssertRefused(HttpStatusCode.BadRequest, "one object of task keys", "escape", "{ command = true } akka.loglevel = DEBUG");

        using (var removed = await Send(http, HttpMethod.Delete, url + "api/tasks/added", token!))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
            Assert.Contains("\"removed\":[\"added\"]", await removed.Content.ReadAsStringAsync());
        }

        using (var unknown = await Send(http, HttpMethod.Delete, url + "api/tasks/nothing", token!))
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using (var list = await Send(http, HttpMethod.Get, url + "api/tasks", token!))
            Assert.DoesNotContain("\"added\"", await list.Content.ReadAsStringAsync());
        using (var anonymous = await http.PutAsync(url + "api/tasks/sneaky", new StringContent("command = \"true\"")))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        host.Signal(HostProcess.SigInt);
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("   at ", host.Stdout + host.Stderr);

        async Task AssertRefused(HttpStatusCode status, string message, string name, string body)
        {
            using var refused = await Send(http, HttpMethod.Put, url + "api/tasks/" + name, token!, body);
            var text = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == status, $"{refused.StatusCode}: {text}");
            using var error = System.Text.Json.JsonDocument.Parse(text);
            Assert.Contains(message, error.RootElement.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task With_a_state_store_a_command_task_added_over_the_api_comes_back_after_a_restart()
    {
        using var dir = new TempDir();
        var config = dir.Write("kept.conf", $$"""
            actor-scheduler {
              periodic-interval = 100ms
              initial-delay = 0s
              tasks { ok { command = "true" } }
              state { {{ClusterHarness.SqliteState(dir.File("state.db"))}} }
            }
            """);
        var first = dir.File("first.jsonl");
        using (var host = HostProcess.Start(dir.Path, HttpTests.Environment(), "run", "--config", config, "--events", first))
        {
            var (url, token) = await ServingHost.WaitAsync(host, first);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            using var added = await Send(http, HttpMethod.Put, url + "api/tasks/added", token!, "{ command = [\"sh\", \"-c\", \"exit 0\"], ticks-between-runs = 1 }");
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
            await host.WaitUntilAsync(() => Event.ReadWritten(first).Any(e => e is { Name: "succeeded", Task: "added" }), "a run of the added task");
            host.Signal(HostProcess.SigInt);
            Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        var second = dir.File("second.jsonl");
        using var restarted = HostProcess.Start(dir.Path, HttpTests.Environment(), "run", "--config", config, "--events", second);
        await restarted.WaitUntilAsync(() => Event.ReadWritten(second).Any(e => e is { Name: "succeeded", Task: "added" }), "the added task running after the restart");
        restarted.Signal(HostProcess.SigInt);
        Assert.Equal(0, await restarted.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("1 changes made at run time kept", restarted.Stdout);
    }

    private static Task<HttpResponseMessage> Send(HttpClient http, HttpMethod method, string url, string token, string? body = null)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, "text/plain");
        return http.SendAsync(request);
    }
}
