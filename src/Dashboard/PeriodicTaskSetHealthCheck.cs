using ActorScheduler.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ActorScheduler.Dashboard;

/// <summary>
/// Readiness of a task set: healthy when the set answers its stats within <see cref="Timeout"/> (in a cluster set the
/// client also asks the cluster singletons' proxies, which answer only once this node is Up), unhealthy otherwise.
/// </summary>
public sealed class PeriodicTaskSetHealthCheck(PeriodicTaskClient client, TimeSpan? timeout = null) : IHealthCheck
{
    /// <summary>The timeout when none is given: 3 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);

    /// <summary>How long the check waits for the set's answer.</summary>
    public TimeSpan Timeout { get; } = timeout ?? DefaultTimeout;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            var report = await client.GetStatsAsync(deadline.Token).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"task set '{report.SetName}' is running: {report.Tasks.Count} tasks, tick {report.CurrentTick}.",
                new Dictionary<string, object> { ["set"] = report.SetName, ["tasks"] = report.Tasks.Count, ["tick"] = report.CurrentTick });
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the task set did not answer within {Timeout.TotalSeconds:0.###} s: not started yet, not Up in its cluster, or stopped.");
        }
        catch (Exception e) when (e is TaskSetNotReadyException or TaskSetUnavailableException)
        {
            return HealthCheckResult.Unhealthy(EventJson.OneLine(e.Message));
        }
    }
}

/// <summary>Registers <see cref="PeriodicTaskSetHealthCheck"/> with ASP.NET Core's health checks.</summary>
public static class PeriodicTaskSetHealthCheckExtensions
{
    /// <summary>Adds the readiness check of the set registered under <typeparamref name="TKey"/> (needs AddPeriodicTaskClients).</summary>
    public static IHealthChecksBuilder AddPeriodicTaskSet<TKey>(
        this IHealthChecksBuilder builder, string name = "actor-scheduler", TimeSpan? timeout = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            services => new PeriodicTaskSetHealthCheck(services.GetRequiredService<PeriodicTaskClient<TKey>>(), timeout),
            HealthStatus.Unhealthy,
            tags ?? ["ready"]));
    }
}
