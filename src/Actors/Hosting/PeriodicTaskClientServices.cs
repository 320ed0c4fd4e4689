using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ActorScheduler.Hosting;

/// <summary>Registers the typed clients of task sets started with Akka.Hosting.</summary>
public static class PeriodicTaskClientServices
{
    /// <summary>
    /// Makes <see cref="PeriodicTaskClient{TKey}"/> resolvable for every set key: inject PeriodicTaskClient&lt;Jobs&gt;
    /// for the set started with WithPeriodicTasks&lt;Jobs&gt;.
    /// </summary>
    public static IServiceCollection AddPeriodicTaskClients(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(typeof(PeriodicTaskClient<>));
        return services;
    }
}
