using System.Collections.Concurrent;
using Akka.Actor;
using Akka.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;

namespace ActorScheduler.Tasks;

/// <summary>
/// Bodies built from a name, so that a task added at run time can be rebuilt on another node or after a restart
/// (docs/control.md, "Changes that last"): an <see cref="IPeriodicTask"/> type, or <c>SCHEME:SPEC</c> for a scheme a
/// package registered with the ActorSystem (the console host's <c>command:</c>).
/// </summary>
internal static class TaskBodies
{
    /// <summary>
    /// Lets <paramref name="system"/> build bodies named <c><paramref name="scheme"/>:SPEC</c>: <paramref name="build"/>
    /// gets the task's name and SPEC, and throws <see cref="PeriodicTaskDefinitionException"/> or
    /// <see cref="PeriodicTaskConfigurationException"/> for a SPEC it cannot build.
    /// </summary>
    public static void Register(ActorSystem system, string scheme, Func<string, string, Func<PeriodicTaskContext, CancellationToken, ValueTask>> build) =>
        system.WithExtension<Schemes, SchemesId>().Builders[scheme] = build;

    /// <summary>The name a type is kept under: its full name and assembly, without version.</summary>
    public static string NameOf(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    /// <summary>
    /// The definition of task <paramref name="task"/> whose body makes a new <paramref name="typeName"/> for each run
    /// (from <paramref name="system"/>'s service provider when it has one). Throws
    /// <see cref="PeriodicTaskDefinitionException"/> saying why this node cannot build it.
    /// </summary>
    public static PeriodicTaskDefinition Build(string task, string typeName, PeriodicTaskOptions options, ActorSystem system)
    {
        if (typeName.IndexOf(':') is var colon and > 0)
            return BuildScheme(task, typeName[..colon], typeName, options, system);
        var type = Type.GetType(typeName, throwOnError: false);
        if (type is null)
            throw new PeriodicTaskDefinitionException($"task '{task}': type '{typeName}' is not loaded on this node, so it cannot build the task's body.");
        if (!type.IsClass || type.IsAbstract || !typeof(IPeriodicTask).IsAssignableFrom(type))
            throw new PeriodicTaskDefinitionException($"task '{task}': type '{typeName}' is not a concrete class implementing {nameof(IPeriodicTask)}.");
        var services = ServicesOf(system);
        if (services is null && type.GetConstructor(Type.EmptyTypes) is null)
            throw new PeriodicTaskDefinitionException(
                $"task '{task}': type '{typeName}' has no parameterless constructor, and this ActorSystem has no service provider to build it with.");
        OptionsValidation.Validate(options, $"task '{task}'");
        return new PeriodicTaskDefinition(task, options, (context, token) => RunAsync(type, services, context, token),
            $"task '{task}' of type {type.Name}", NameOf(type));
    }

    /// <summary>
    /// One run of a new <paramref name="type"/>: from a new DI scope when there are services (registered, or made with
    /// ActivatorUtilities), else from its parameterless constructor; disposed after the run.
    /// </summary>
    public static async ValueTask RunAsync(Type type, IServiceProvider? services, PeriodicTaskContext context, CancellationToken token)
    {
        if (services is null)
        {
            await RunAndDisposeAsync((IPeriodicTask)Activator.CreateInstance(type)!, context, token).ConfigureAwait(false);
            return;
        }

        await using var scope = services.CreateAsyncScope();
        var task = (IPeriodicTask)(scope.ServiceProvider.GetService(type) ?? ActivatorUtilities.CreateInstance(scope.ServiceProvider, type));
        await task.RunAsync(context, token).ConfigureAwait(false); // the scope disposes what it made
    }

    /// <summary>Runs <paramref name="task"/> once, then disposes it when it is disposable.</summary>
    public static async ValueTask RunAndDisposeAsync(IPeriodicTask task, PeriodicTaskContext context, CancellationToken token)
    {
        try
        {
            await task.RunAsync(context, token).ConfigureAwait(false);
        }
        finally
        {
            switch (task)
            {
                case IAsyncDisposable ad: await ad.DisposeAsync().ConfigureAwait(false); break;
                case IDisposable d: d.Dispose(); break;
            }
        }
    }

    private static PeriodicTaskDefinition BuildScheme(string task, string scheme, string name, PeriodicTaskOptions options, ActorSystem system)
    {
        if (!system.WithExtension<Schemes, SchemesId>().Builders.TryGetValue(scheme, out var build))
            throw new PeriodicTaskDefinitionException($"task '{task}': this node cannot build a '{scheme}:' body (the console host builds command tasks).");
        OptionsValidation.Validate(options, $"task '{task}'");
        Func<PeriodicTaskContext, CancellationToken, ValueTask> body;
        try
        {
            body = build(task, name[(scheme.Length + 1)..]);
        }
        catch (PeriodicTaskConfigurationException e)
        {
            throw new PeriodicTaskDefinitionException($"task '{task}': {e.Message}");
        }

        return new PeriodicTaskDefinition(task, options, body, $"task '{task}' ({scheme} added at run time)", name);
    }

    private sealed class Schemes : IExtension
    {
        public ConcurrentDictionary<string, Func<string, string, Func<PeriodicTaskContext, CancellationToken, ValueTask>>> Builders { get; } =
            new(StringComparer.Ordinal);
    }

    private sealed class SchemesId : ExtensionIdProvider<Schemes>
    {
        public override Schemes CreateExtension(ExtendedActorSystem system) => new();
    }

    private static IServiceProvider? ServicesOf(ActorSystem system) =>
        system.Settings.Setup.Get<DependencyResolverSetup>().HasValue
            ? (DependencyResolver.For(system).Resolver as ServiceProviderDependencyResolver)?.ServiceProvider
            : null;
}
