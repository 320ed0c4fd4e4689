using ActorScheduler.Configuration;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Akka.DependencyInjection;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ActorScheduler.Hosting;

/// <summary>Akka.Hosting registration of task sets, in the style of Akka.Cluster.Hosting's WithClustering.</summary>
public static class AkkaHostingExtensions
{
    /// <summary>
    /// Starts the task set of <typeparamref name="TManager"/>'s [PeriodicTask] methods (plus any tasks added to the
    /// options) as actor /user/periodic-tasks-NAME, registered in the ActorRegistry under <typeparamref name="TManager"/>.
    /// TManager is resolved from DI when registered there, and created with ActivatorUtilities otherwise.
    /// </summary>
    public static AkkaConfigurationBuilder WithPeriodicTasks<TManager>(
        this AkkaConfigurationBuilder builder, Action<PeriodicTaskSetOptions>? configure = null)
        where TManager : class =>
        builder.WithPeriodicTasks<TManager>(typeof(TManager).Name, configure, includeManagerTasks: true);

    /// <summary>
    /// Starts a task set of code-registered tasks only (<see cref="PeriodicTaskSetOptions.AddTask{TTask}"/>), registered
    /// in the ActorRegistry under the marker type <typeparamref name="TKey"/>.
    /// </summary>
    public static AkkaConfigurationBuilder WithPeriodicTasks<TKey>(
        this AkkaConfigurationBuilder builder, string setName, Action<PeriodicTaskSetOptions> configure) =>
        builder.WithPeriodicTasks<TKey>(setName, configure, includeManagerTasks: false);

    private static AkkaConfigurationBuilder WithPeriodicTasks<TKey>(
        this AkkaConfigurationBuilder builder, string defaultSetName, Action<PeriodicTaskSetOptions>? configure, bool includeManagerTasks)
    {
        var options = AddSetOptions(builder, defaultSetName, configure, out var setName);
        builder.WithActors((system, registry, resolver) =>
        {
            var start = SetStart.Now(system);
            var set = BuildSet<TKey>(setName, options, resolver, includeManagerTasks);
            var settings = PeriodicTaskSettings.Create(system.Settings.Config, setName);
            var props = PeriodicTasks.ManagerProps(set, settings, withTicker: true, start);
            registry.Register<TKey>(PeriodicTasks.Start(system, system, setName, props, settings.ShutdownTimeout, options.StopOnCoordinatedShutdown));
        });
        return builder;
    }

    /// <summary>
    /// Reads the options of a set being registered and adds them as HOCON (prepended, at actor-scheduler.sets.NAME) over
    /// the embedded reference.conf (appended). The set's name is checked now, at registration.
    /// </summary>
    internal static PeriodicTaskSetOptions AddSetOptions(
        AkkaConfigurationBuilder builder, string defaultSetName, Action<PeriodicTaskSetOptions>? configure, out string setName)
    {
        var options = new PeriodicTaskSetOptions();
        configure?.Invoke(options);
        setName = options.SetName ?? defaultSetName;
        _ = new PeriodicTaskSet(setName);
        builder.AddHocon(ConfigurationFactory.ParseString(options.ToHocon(setName)), HoconAddMode.Prepend);
        builder.AddHocon(PeriodicTaskSettings.DefaultConfig(), HoconAddMode.Append);
        return options;
    }

    /// <summary>
    /// The set's tasks: <typeparamref name="TManager"/>'s [PeriodicTask] methods when <paramref name="includeManagerTasks"/>
    /// (TManager resolved from DI when registered there, created with ActivatorUtilities otherwise), then the options'
    /// code tasks.
    /// </summary>
    internal static PeriodicTaskSet BuildSet<TManager>(
        string setName, PeriodicTaskSetOptions options, IDependencyResolver resolver, bool includeManagerTasks)
    {
        var services = (resolver as ServiceProviderDependencyResolver)?.ServiceProvider;
        var set = new PeriodicTaskSet(setName);
        if (includeManagerTasks)
        {
            var manager = resolver.GetService(typeof(TManager))
                ?? (services is null ? Activator.CreateInstance<TManager>() : ActivatorUtilities.CreateInstance<TManager>(services))!;
            set.AddTasksOf(manager);
        }

        foreach (var task in options.CodeTasks)
            set.Add(task(services));
        return set;
    }
}
