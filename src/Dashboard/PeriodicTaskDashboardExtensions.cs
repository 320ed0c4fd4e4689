using ActorScheduler.Messages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace ActorScheduler.Dashboard;

/// <summary>Registers and maps the operator console (docs/dashboard.md).</summary>
public static class PeriodicTaskDashboardExtensions
{
    /// <summary>
    /// The console's services: its options, the recent runs it keeps (from the ActorSystem's EventStream, once the host
    /// starts), and an OpenTelemetry meter provider over meter ActorScheduler with the Prometheus exporter (added to the
    /// application's own OpenTelemetry setup, if it has one).
    /// </summary>
    public static IServiceCollection AddPeriodicTaskDashboard(this IServiceCollection services, Action<PeriodicTaskDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<PeriodicTaskDashboardOptions>();
        if (configure is not null)
            services.Configure(configure);
        if (services.Any(s => s.ServiceType == typeof(DashboardEvents)))
            return services;
        services.TryAddSingleton<DashboardEvents>();
        services.AddHostedService<EventSubscriberService>();
        services.AddHealthChecks();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(PeriodicTaskMetrics.MeterName).AddPrometheusExporter());
        return services;
    }

    /// <summary>Maps the console of the set registered under <typeparamref name="TKey"/> (see PeriodicTaskClient&lt;TKey&gt;) under <paramref name="prefix"/>.</summary>
    /// <param name="endpoints">The application's routes.</param>
    /// <param name="prefix">The path under which the console is served ("" or "/": the root).</param>
    /// <param name="options">Token and read-only mode for this mapping; null: the options of AddPeriodicTaskDashboard.</param>
    public static RouteGroupBuilder MapPeriodicTaskDashboard<TKey>(
        this IEndpointRouteBuilder endpoints, string prefix = "", PeriodicTaskDashboardOptions? options = null) =>
        endpoints.MapPeriodicTaskDashboard(prefix, services => services.GetRequiredService<PeriodicTaskClient<TKey>>(), options);

    /// <summary>
    /// Maps the console of the set that <paramref name="client"/> reaches under <paramref name="prefix"/>: the page, the
    /// JSON API, the event stream, metrics and health. The group returned can be given the application's own
    /// authorization (RequireAuthorization), which then covers every route of the console.
    /// </summary>
    /// <param name="endpoints">The application's routes.</param>
    /// <param name="prefix">The path under which the console is served ("" or "/": the root).</param>
    /// <param name="client">The client of the set, from the request's services.</param>
    /// <param name="options">Token and read-only mode for this mapping; null: the options of AddPeriodicTaskDashboard.</param>
    public static RouteGroupBuilder MapPeriodicTaskDashboard(
        this IEndpointRouteBuilder endpoints, string prefix, Func<IServiceProvider, PeriodicTaskClient> client, PeriodicTaskDashboardOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(client);
        var events = endpoints.ServiceProvider.GetService<DashboardEvents>()
            ?? throw new InvalidOperationException("the periodic task dashboard's services are missing: call services.AddPeriodicTaskDashboard() first.");
        Func<HttpContext, PeriodicTaskDashboardOptions> settings = options is not null
            ? _ => options
            : http => http.RequestServices.GetRequiredService<IOptions<PeriodicTaskDashboardOptions>>().Value;
        var api = new DashboardApi(client, events, settings);

        prefix = "/" + (prefix ?? "").Trim('/');
        var group = endpoints.MapGroup(prefix == "/" ? "" : prefix);
        group.AddEndpointFilter(new DashboardErrors());
        group.AddEndpointFilter(new DashboardSecurity(settings));

        group.MapGet("/healthz", () => DashboardApi.Ok(new { status = "ok" })).WithMetadata(NoTokenMetadata.Instance);
        group.MapGet("/readyz", (Func<HttpContext, Task<IResult>>)(http => api.Ready(http))).WithMetadata(NoTokenMetadata.Instance);
        group.MapPrometheusScrapingEndpoint("/metrics").WithMetadata(NoTokenMetadata.Instance);

        group.MapGet("/api/tasks", (Func<HttpContext, Task<IResult>>)(http => api.List(http)));
        group.MapGet("/api/tasks/{name}", (HttpContext http, string name) => api.Get(http, name));
        group.MapGet("/api/tasks/{name}/runs", (HttpContext http, string name) => api.Runs(http, name));
        group.MapGet("/api/runs/chart", (Func<HttpContext, Task<IResult>>)(http => api.Chart(http)));
        group.MapPost("/api/tasks/{name}/pause", (HttpContext http, string name) => api.Pause(http, name));
        group.MapPost("/api/tasks/{name}/resume", (HttpContext http, string name) => api.Resume(http, name));
        group.MapPost("/api/tasks/{name}/trigger", (HttpContext http, string name) => api.Trigger(http, name));
        group.MapGet("/api/events", (Func<HttpContext, Task<IResult>>)(http => api.Events(http)));

        // One endpoint for /prefix and /prefix/ (routing ignores a trailing slash); the page's links are relative, so
        // /prefix redirects to /prefix/.
        group.MapGet("/", (HttpContext http) => http.Request.Path.Value?.EndsWith('/') == true || (http.Request.PathBase + http.Request.Path).Value is null or ""
                ? DashboardPage.Serve(http, "index.html")
                : Results.Redirect((http.Request.PathBase + http.Request.Path).ToString() + "/" + http.Request.QueryString))
            .WithMetadata(PageMetadata.Instance);
        group.MapGet("/assets/{file}", (HttpContext http, string file) => DashboardPage.Serve(http, file));
        return group;
    }

    /// <summary>Turns exceptions into JSON errors with their status code; never a stack trace.</summary>
    private sealed class DashboardErrors : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var http = context.HttpContext;
            try
            {
                return await next(context).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                return Results.Empty; // the client left
            }
            catch (Exception e)
            {
                var status = e switch
                {
                    DashboardRequestException r => r.Status,
                    PeriodicTaskNotFoundException => StatusCodes.Status404NotFound,
                    TaskSetNotReadyException or TaskSetUnavailableException => StatusCodes.Status503ServiceUnavailable,
                    ArgumentException => StatusCodes.Status400BadRequest, // the set refused a value (an until already passed)
                    _ => StatusCodes.Status500InternalServerError,
                };
                var message = EventJson.OneLine(e.Message);
                if (status == StatusCodes.Status500InternalServerError)
                {
                    http.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("ActorScheduler.Dashboard")
                        .LogError(e, "{Method} {Path} failed", http.Request.Method, http.Request.Path);
                    message = $"internal error ({e.GetType().Name}): {message}";
                }

                return DashboardSecurity.Error(status, message);
            }
        }
    }
}
