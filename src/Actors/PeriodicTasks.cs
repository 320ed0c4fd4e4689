using ActorScheduler.Actors;
using ActorScheduler.Configuration;
using ActorScheduler.Hosting;
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
        var settings = PeriodicTaskSettings.Create(system.Settings.Config, set.Name);
        var manager = system.ActorOf(PeriodicTaskManager.Props(set, settings), PeriodicTaskManager.ActorName(set.Name));
        AkkaHostingExtensions.AddGracefulStop(system, manager, set.Name, settings.ShutdownTimeout);
        return manager;
    }
}
