using System.Net.Http.Headers;
using System.Text.Json;
using ActorScheduler.Hosting;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ActorScheduler.Dashboard.Tests;

/// <summary>The key of the test set.</summary>
public sealed class Jobs;

/// <summary>
/// A web application on Kestrel (127.0.0.1, a free port) with a task set ticking every 100 ms and the console mapped
/// six times: /dash (token "secret"), /open (no token), /ro (read-only), /ping (no token, a ping after 100 ms without
/// an event), /down (a client of nothing: 503) and /kept (a stand-in manager whose task ran on another node, with runs
/// kept by a state store). The console's services are registered before Akka's, the harder order for its event
/// subscriber. Each host's set has its own name (jobs-1, jobs-2, ...): the meter is per process, so every host's
/// metrics show the runs of every set, and a test tells its own by the set label.
/// </summary>
public sealed class DashboardHost : IAsyncLifetime
{
    public const string Token = "secret";

    /// <summary>The tasks of the set, in registration order.</summary>
    public static readonly string[] Tasks = ["once", "fast", "flaky", "slow", "broken", "idle", "sleepy", "stuck", "hasty"];

    private static int _hosts;

    /// <summary>The name of this host's task set.</summary>
    public string SetName { get; } = "jobs-" + Interlocked.Increment(ref _hosts);

    /// <summary>Released by a test to let the run in flight of "slow" end.</summary>
    public SemaphoreSlim SlowGate { get; } = new(0);

    /// <summary>Completed when "slow" has started a run.</summary>
    public TaskCompletionSource SlowStarted { get; private set; } = NewSource();

    public WebApplication App { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public int FlakyCalls;

    public static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ResetSlow() => SlowStarted = NewSource();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddPeriodicTaskDashboard(o => o.Token = Token);
        builder.Services.AddPeriodicTaskClients();
        builder.Services.AddAkka("dashboard-test", akka => akka.WithPeriodicTasks<Jobs>(SetName, o =>
        {
            o.PeriodicInterval = TimeSpan.FromMilliseconds(100);
            o.AddTask("once", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { RunImmediately = true, TicksBetweenRuns = 100_000 });
            o.AddTask("fast", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { TicksBetweenRuns = 1 });
            o.AddTask("flaky", (_, _) =>
                    Interlocked.Increment(ref FlakyCalls) % 2 == 1 ? throw new InvalidOperationException("disk full\non /var") : ValueTask.CompletedTask,
                new PeriodicTaskOptions { TicksBetweenRuns = 100_000, Retries = 1, RetryBackoff = TimeSpan.FromMilliseconds(50) });
            o.AddTask("slow", async (_, token) =>
            {
                SlowStarted.TrySetResult();
                await SlowGate.WaitAsync(token);
            }, new PeriodicTaskOptions { TicksBetweenRuns = 100_000, Overlap = OverlapMode.Skip });
            o.AddTask("broken", (_, _) => throw new IOException("connection refused: backup.internal:5432"),
                new PeriodicTaskOptions { TicksBetweenRuns = 100_000 });
            o.AddTask("idle", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { TicksBetweenRuns = 100_000 });
            o.AddTask("sleepy", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { TicksBetweenRuns = 100_000 });
            o.AddTask("stuck", (_, token) => new ValueTask(Task.Delay(Timeout.Infinite, token)),
                new PeriodicTaskOptions { TicksBetweenRuns = 100_000, Timeout = TimeSpan.FromMilliseconds(200) });
            // Due every 25 ms at a 100 ms tick: each run coalesces the due times of its tick, the others counted as missed.
            o.AddTask("hasty", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { Spacing = TimeSpan.FromMilliseconds(25) });
        }));
        App = builder.Build();
        App.MapPeriodicTaskDashboard<Jobs>("/dash");
        App.MapPeriodicTaskDashboard<Jobs>("/open", new PeriodicTaskDashboardOptions());
        App.MapPeriodicTaskDashboard<Jobs>("/ro", new PeriodicTaskDashboardOptions { ReadOnly = true });
        App.MapPeriodicTaskDashboard<Jobs>("/ping", new PeriodicTaskDashboardOptions { PingInterval = TimeSpan.FromMilliseconds(100) });
        App.MapPeriodicTaskDashboard("/down",
            services => new PeriodicTaskClient(services.GetRequiredService<ActorSystem>().DeadLetters, TimeSpan.FromMilliseconds(300)),
            new PeriodicTaskDashboardOptions());
        App.MapPeriodicTaskDashboard("/kept",
            services => new PeriodicTaskClient(KeptRuns.ManagerIn(services.GetRequiredService<ActorSystem>())), new PeriodicTaskDashboardOptions());
        await App.StartAsync();
        var address = App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
    }

    public async Task DisposeAsync()
    {
        SlowGate.Release(100);
        await App.StopAsync();
        await App.DisposeAsync();
    }

    /// <summary>A client of the app: with the token when <paramref name="token"/>, without redirects followed.</summary>
    public HttpClient Client(bool token = true)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling every 20 ms, up to <paramref name="seconds"/>.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, string what, double seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"not within {seconds} s: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>The task's whole run history (GET api/tasks/{name}/runs in one page), newest first.</summary>
    public static async Task<List<JsonElement>> History(HttpClient http, string task, string prefix = "dash") =>
        (await Json(await http.GetAsync($"{prefix}/api/tasks/{task}/runs?limit=1000"))).GetProperty("runs").EnumerateArray().ToList();

    /// <summary>
    /// Triggers <paramref name="task"/> <paramref name="count"/> times, each time once its history has the run before
    /// (a trigger that meets a run in flight of a skip task is refused with 409 and made again).
    /// </summary>
    public static async Task TriggerRuns(HttpClient http, string task, int count)
    {
        var runs = (await History(http, task)).Count;
        for (var i = 1; i <= count; i++)
        {
            await Eventually(async () => (await http.PostAsync($"dash/api/tasks/{task}/trigger", null)).StatusCode == System.Net.HttpStatusCode.OK,
                $"a trigger of {task} started a run");
            var expected = runs + i;
            await Eventually(async () => (await History(http, task)).Count >= expected, $"run {i} of {count} of {task} is in its history");
        }
    }

    public static async Task<JsonElement> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
}
