using ActorScheduler.Tasks;

namespace ActorScheduler.Host.Demo;

/// <summary>
/// The built-in demo: nova's compute manager (nova/compute/manager.py) with its real periodic task names and schedules.
/// The bodies only simulate work. hocon/host.conf runs it on a 1 s tick and scales nova's spacings 60:1, so a minute
/// of a compute node happens every second. <c>update_available_resource</c> is slower than the tick (overruns), and
/// <c>_heal_instance_info_cache</c> fails now and then (logged and counted; nothing else is affected).
/// </summary>
internal sealed class NovaComputeManager
{
    /// <summary>Nova: every periodic_interval; audits the hypervisor's resources. Here slower than the tick.</summary>
    [PeriodicTask(Name = "update_available_resource")]
    public Task UpdateAvailableResource(PeriodicTaskContext context, CancellationToken cancellationToken) =>
        Work(1300, 2400, cancellationToken);

    /// <summary>Nova: every tick (heal_instance_info_cache_interval = 60 s); refreshes one instance's network info.</summary>
    [PeriodicTask(Name = "_heal_instance_info_cache")]
    public async Task HealInstanceInfoCache(PeriodicTaskContext context, CancellationToken cancellationToken)
    {
        await Work(20, 120, cancellationToken).ConfigureAwait(false);
        if (context.Tick % 4 == 3)
            throw new InvalidOperationException(
                $"network info cache refresh of instance {InstanceId(context.Tick)} failed: neutron did not answer within 30 s");
    }

    /// <summary>Nova: every tick (reboot_timeout); reboots instances stuck in rebooting.</summary>
    [PeriodicTask(Name = "_poll_rebooting_instances")]
    public Task PollRebootingInstances(CancellationToken cancellationToken) => Work(5, 40, cancellationToken);

    /// <summary>Nova: spacing = scheduler_instance_sync_interval (120 s).</summary>
    [PeriodicTask(Name = "_sync_scheduler_instance_info", Spacing = "120s")]
    public Task SyncSchedulerInstanceInfo(CancellationToken cancellationToken) => Work(10, 60, cancellationToken);

    /// <summary>Nova: spacing = instance_delete_interval (300 s).</summary>
    [PeriodicTask(Name = "_run_pending_deletes", Spacing = "300s")]
    public Task RunPendingDeletes(CancellationToken cancellationToken) => Work(50, 200, cancellationToken);

    /// <summary>Nova: spacing = instance_delete_interval (300 s).</summary>
    [PeriodicTask(Name = "_cleanup_incomplete_migrations", Spacing = "300s")]
    public Task CleanupIncompleteMigrations(CancellationToken cancellationToken) => Work(30, 150, cancellationToken);

    /// <summary>The seed's own example: ticks_between_runs = 10, so every 11 ticks (nova's "600 s" is 660 s).</summary>
    [PeriodicTask(Name = "_sync_power_states", TicksBetweenRuns = 10)]
    public Task SyncPowerStates(CancellationToken cancellationToken) => Work(200, 600, cancellationToken);

    /// <summary>Nova: spacing = running_deleted_instance_poll_interval (1800 s).</summary>
    [PeriodicTask(Name = "_cleanup_running_deleted_instances", Spacing = "1800s")]
    public Task CleanupRunningDeletedInstances(CancellationToken cancellationToken) => Work(100, 300, cancellationToken);

    /// <summary>The seed: ticks_between_runs = image_cache_manager_interval (40), so every 41 ticks.</summary>
    [PeriodicTask(Name = "_run_image_cache_manager_pass", TicksBetweenRuns = 40)]
    public Task RunImageCacheManagerPass(CancellationToken cancellationToken) => Work(300, 800, cancellationToken);

    /// <summary>Nova: spacing = shelved_poll_interval (3600 s).</summary>
    [PeriodicTask(Name = "_poll_shelved_instances", Spacing = "3600s")]
    public Task PollShelvedInstances(CancellationToken cancellationToken) => Work(20, 80, cancellationToken);

    /// <summary>Nova: volume_usage_poll_interval = 0 disables it by default.</summary>
    [PeriodicTask(Name = "_poll_volume_usage", Enabled = false)]
    public Task PollVolumeUsage(CancellationToken cancellationToken) => Work(10, 50, cancellationToken);

    private static Task Work(int minMs, int maxMs, CancellationToken cancellationToken) =>
        Task.Delay(Random.Shared.Next(minMs, maxMs + 1), cancellationToken);

    private static string InstanceId(long tick) => new Guid((int)tick, 0x4e6f, 0x7661, 0xa1, 0x2b, 0, 0, 0, 0, 0, 0x42).ToString();
}
