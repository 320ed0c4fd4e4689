using ActorScheduler.Actors;
using ActorScheduler.Configuration;
using ActorScheduler.Hosting;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Akka.Actor;

namespace ActorScheduler;

/// <summary>The plain Akka API, for applications without Akka.Hosting.</summary>
public static class PeriodicTasks
{
    /// <summary>
    /// Starts <paramref name="set"/> as /user/periodic-tasks-NAME with settings read from the system's configuration
    /// (reference.conf as fallback), and stops it gracefully in CoordinatedShutdown.
    /// </summary>
    /// <exception cref="PeriodicTaskConfigurationException">a configuration mistake, naming its path.</exception>
    public static IActorRef StartPeriodicTasks(this ActorSystem system, PeriodicTaskSet set)
    {
        var start = SetStart.Now(system); // ticks count from this call, not from when the manager actor gets a thread
        var settings = PeriodicTaskSettings.Create(system.Settings.Config, set.Name);
        var manager = system.ActorOf(
            PeriodicTaskManager.Props(set, settings, withTicker: true, start), PeriodicTaskManager.ActorName(set.Name));
        AkkaHostingExtensions.AddGracefulStop(system, manager, set.Name, settings.ShutdownTimeout);
        return manager;
    }
}
