using ActorScheduler;
using ActorScheduler.Dashboard;
using ActorScheduler.Hosting;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Hosting;
using AspNetService;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

var builder = WebApplication.CreateBuilder(args); // listens where appsettings.json's "Urls" says, unless --urls overrides it

// The application's services, used by the tasks.
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<SessionStore>();
builder.Services.AddSingleton<Jobs>(); // the manager class: resolved from DI, so it can take ILogger<Jobs> and SessionStore

// The task set, embedded in the service's own ActorSystem with Akka.Hosting.
builder.Services.AddAkka("aspnet-service", akka => akka
    .ConfigureLoggers(loggers => loggers.AddLoggerFactory()) // Akka's log (task failures, overruns) goes to ASP.NET Core's logging
    .WithPeriodicTasks<Jobs>(options =>
    {
        options.SetName = "jobs";
        options.PeriodicInterval = TimeSpan.FromSeconds(1);  // the tick: the resolution of spaced and calendar tasks
        options.ShutdownTimeout = TimeSpan.FromSeconds(5);   // how long a stop waits for runs in flight
        options.AddTask<CleanupSessionsTask>("cleanup-sessions", new PeriodicTaskOptions
        {
            Spacing = TimeSpan.FromSeconds(10),
            Timeout = TimeSpan.FromSeconds(5),
        });
    }));

// PeriodicTaskClient<Jobs>: the typed client of the set, for our own endpoints and the console.
builder.Services.AddPeriodicTaskClients();

// The operator console's services. No token: the console is behind the application's own authorization below.
builder.Services.AddPeriodicTaskDashboard(o => o.Token = null);

// The application's own authentication and authorization: HTTP Basic, one operator account from configuration.
builder.Services.AddAuthentication(OperatorAuthenticationHandler.SchemeName)
    .AddScheme<AuthenticationSchemeOptions, OperatorAuthenticationHandler>(OperatorAuthenticationHandler.SchemeName, null);
builder.Services.AddAuthorizationBuilder()
    .AddPolicy(OperatorAuthenticationHandler.PolicyName, policy => policy.RequireAuthenticatedUser().RequireRole("operator"));

// Health: liveness answers while the process serves; readiness asks the task set for its stats (tag "ready").
builder.Services.AddHealthChecks().AddPeriodicTaskSet<Jobs>(timeout: TimeSpan.FromSeconds(2));

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();

// Probes, outside the console's group, so that they need no credentials.
app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false }); // no check: 200 while the process serves
app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }); // 503 until the set answers

// An endpoint of the application's own, through the typed client: the set's stats, one line per task.
app.MapGet("/jobs", async (PeriodicTaskClient<Jobs> tasks, CancellationToken token) =>
{
    TaskStatsReport report = await tasks.GetStatsAsync(token);
    return Results.Ok(new
    {
        set = report.SetName,
        tick = report.CurrentTick,
        tasks = report.Tasks.Select(t => new
        {
            name = t.Task,
            schedule = t.Schedule,
            runs = t.Runs,
            succeeded = t.Succeeded,
            failed = t.Failed,
            running = t.Running,
            paused = t.Paused,
            nextDueAt = t.NextDueAt,
        }),
    });
});

// A change through the client, for operators only: run a task now.
app.MapPost("/jobs/{name}/trigger", async (string name, PeriodicTaskClient<Jobs> tasks, CancellationToken token) =>
{
    try
    {
        TaskTriggered triggered = await tasks.TriggerAsync(name, token);
        return Results.Ok(new { task = name, started = triggered.Started, tick = triggered.Tick });
    }
    catch (PeriodicTaskNotFoundException e)
    {
        return Results.NotFound(new { error = e.Message });
    }
}).RequireAuthorization(OperatorAuthenticationHandler.PolicyName);

// The operator console (page, JSON API, events, metrics) under /scheduler, for operators only.
app.MapPeriodicTaskDashboard<Jobs>("/scheduler").RequireAuthorization(OperatorAuthenticationHandler.PolicyName);

app.MapGet("/", () => Results.Text("""
    AspNetService: periodic tasks embedded with Akka.Hosting.
      GET  /jobs                   the task set's stats (open)
      POST /jobs/{name}/trigger    run a task now (operators)
      GET  /scheduler/             the operator console (operators)
      GET  /healthz, /readyz       probes (open)
    """));

app.Run();
