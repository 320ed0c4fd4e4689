using System.Linq.Expressions;
using System.Reflection;

namespace ActorScheduler.Tasks;

/// <summary>
/// Finds the <see cref="PeriodicTaskAttribute"/> methods of a manager object, the way nova's ManagerMeta collected
/// decorated methods: the type hierarchy is walked base first, so a subclass has its base's tasks (in the base's
/// order) followed by its own; a subclass task with the name of a base task (an override, or the same Name)
/// replaces it in place, so it never runs twice.
/// </summary>
internal static class TaskDiscovery
{
    private const BindingFlags DeclaredInstanceAndStatic =
        BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    public static IReadOnlyList<PeriodicTaskDefinition> Discover(object manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        var chain = new List<Type>();
        for (var t = manager.GetType(); t is not null && t != typeof(object); t = t.BaseType)
            chain.Insert(0, t);

        var tasks = new List<PeriodicTaskDefinition>();
        foreach (var type in chain)
        {
            var declaredHere = new Dictionary<string, MethodInfo>(StringComparer.Ordinal);
            foreach (var method in type.GetMethods(DeclaredInstanceAndStatic).OrderBy(m => m.MetadataToken))
            {
                var attribute = method.GetCustomAttribute<PeriodicTaskAttribute>(inherit: false);
                if (attribute is null)
                    continue;
                var where = Describe(method);
                var name = string.IsNullOrWhiteSpace(attribute.Name) ? method.Name : attribute.Name!;
                if (declaredHere.TryGetValue(name, out var other))
                    throw new PeriodicTaskDefinitionException(
                        $"{where}: two periodic tasks named '{name}' (the other is {Describe(other)}).");
                declaredHere[name] = method;

                var definition = new PeriodicTaskDefinition(
                    name, attribute.ToOptions(where), CreateBody(manager, method, where), where);
                var inherited = tasks.FindIndex(d => d.Name == name);
                if (inherited >= 0)
                    tasks[inherited] = definition;
                else
                    tasks.Add(definition);
            }
        }

        return tasks;
    }

    private static string Describe(MethodInfo method) =>
        $"method {method.DeclaringType?.Name}.{method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.Name))})";

    private static Func<PeriodicTaskContext, CancellationToken, ValueTask> CreateBody(object manager, MethodInfo method, string where)
    {
        const string supported =
            "a periodic task is an instance method that takes nothing, a PeriodicTaskContext and/or a CancellationToken, " +
            "and returns void, Task or ValueTask";
        if (method.IsStatic || method.IsGenericMethodDefinition || method.IsAbstract && !method.DeclaringType!.IsInstanceOfType(manager))
            throw new PeriodicTaskDefinitionException($"{where}: not supported: {supported}.");

        var context = Expression.Parameter(typeof(PeriodicTaskContext), "context");
        var token = Expression.Parameter(typeof(CancellationToken), "cancellationToken");
        var arguments = new List<Expression>();
        foreach (var parameter in method.GetParameters())
        {
            var p = parameter.ParameterType == typeof(PeriodicTaskContext) ? context
                : parameter.ParameterType == typeof(CancellationToken) ? token
                : null;
            if (p is null || arguments.Contains(p) || parameter.IsOut || parameter.ParameterType.IsByRef)
                throw new PeriodicTaskDefinitionException($"{where}: not supported: {supported}.");
            arguments.Add(p);
        }

        var call = Expression.Call(Expression.Convert(Expression.Constant(manager), method.DeclaringType!), method, arguments);
        if (method.ReturnType == typeof(void))
        {
            var action = Expression.Lambda<Action<PeriodicTaskContext, CancellationToken>>(call, context, token).Compile();
            return (c, t) =>
            {
                action(c, t);
                return ValueTask.CompletedTask;
            };
        }

        if (typeof(Task).IsAssignableFrom(method.ReturnType))
        {
            var func = Expression.Lambda<Func<PeriodicTaskContext, CancellationToken, Task>>(
                Expression.Convert(call, typeof(Task)), context, token).Compile();
            return (c, t) => new ValueTask(func(c, t));
        }

        if (method.ReturnType == typeof(ValueTask))
            return Expression.Lambda<Func<PeriodicTaskContext, CancellationToken, ValueTask>>(call, context, token).Compile();

        throw new PeriodicTaskDefinitionException($"{where}: not supported: {supported}.");
    }
}
