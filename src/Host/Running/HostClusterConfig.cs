using ActorScheduler.Configuration;
using ActorScheduler.Cluster;
using ActorScheduler.Host.Configuration;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Running;

/// <summary>
/// The cluster settings the host adds to the file's (docs/cluster.md, "Split brain resolver and fail-over time"): a
/// first seed's longer wait for a running cluster (<see cref="FirstSeedGuard"/>), over the file; with the lease, no
/// down-removal-margin, under the file and over the cluster package's timings, which the caller adds next.
/// </summary>
internal static class HostClusterConfig
{
    public static void Add(AkkaConfigurationBuilder akka, HostPlan plan, (TimeSpan Timeout, string Reason)? firstSeed, bool localOnly, ILogger log)
    {
        if (firstSeed is { } guard)
        {
            log.LogInformation("{Reason}", guard.Reason);
            akka.AddHocon(ConfigurationFactory.ParseString($"akka.cluster.seed-node-timeout = {(int)guard.Timeout.TotalSeconds}s"), HoconAddMode.Prepend);
        }

        // With the lease, Sharding's coordinator need not wait either; the file's own down-removal-margin, if any, wins.
        if (!localOnly && ClusterPeriodicTasks.LeasePath(plan.EffectiveConfig, ClusterTaskSettings.Of(plan.Settings).Lease) is not null)
            akka.AddHocon(ConfigurationFactory.ParseString("akka.cluster.down-removal-margin = 1ms"), HoconAddMode.Append);
    }
}
