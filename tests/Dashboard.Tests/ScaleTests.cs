using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ActorScheduler.Hosting;
using ActorScheduler.Tasks;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Dashboard.Tests;

/// <summary>
/// A set of 10,000 tasks: a page, a search and the whole list are complete and correct. The times are printed, not
/// asserted (timed targets belong in src/Benchmarks).
/// </summary>
public sealed class ScaleTests(ITestOutputHelper output)
{
    private sealed class Big;

    [Fact]
    public async Task Ten_thousand_tasks_are_served_a_page_at_a_time()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddPeriodicTaskDashboard();
        builder.Services.AddPeriodicTaskClients();
        builder.Services.AddAkka("dashboard-scale", akka => akka.WithPeriodicTasks<Big>("big", o =>
        {
            o.PeriodicInterval = TimeSpan.FromSeconds(1);
            for (var i = 0; i < 10_000; i++)
                o.AddTask($"task-{i:00000}", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { TicksBetweenRuns = 1_000_000 });
        }));
        await using var app = builder.Build();
        app.MapPeriodicTaskDashboard<Big>("");
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/") };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/tasks?limit=1")).StatusCode); // warm up

            var page = Stopwatch.StartNew();
            var json = JsonDocument.Parse(await http.GetStringAsync("api/tasks?offset=5000&limit=50")).RootElement;
            page.Stop();
            Assert.Equal((10_000, 10_000, 5000), (json.GetProperty("total").GetInt32(), json.GetProperty("matched").GetInt32(), json.GetProperty("offset").GetInt32()));
            Assert.Equal(Enumerable.Range(5000, 50).Select(i => $"task-{i:00000}"),
                json.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("name").GetString()));

            var search = Stopwatch.StartNew();
            json = JsonDocument.Parse(await http.GetStringAsync("api/tasks?search=task-0999&limit=50")).RootElement;
            search.Stop();
            Assert.Equal(10, json.GetProperty("matched").GetInt32());
            Assert.Equal(Enumerable.Range(9990, 10).Select(i => $"task-{i:00000}"),
                json.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("name").GetString()));

            var all = Stopwatch.StartNew();
            var text = await http.GetStringAsync("api/tasks");
            all.Stop();
            Assert.Equal(Enumerable.Range(0, 10_000).Select(i => $"task-{i:00000}"),
                JsonDocument.Parse(text).RootElement.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
            output.WriteLine($"10,000 tasks: a page of 50 in {page.ElapsedMilliseconds} ms, a search in {search.ElapsedMilliseconds} ms, " +
                $"the whole list ({text.Length / 1024} KiB) in {all.ElapsedMilliseconds} ms");
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
