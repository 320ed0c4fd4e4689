using System.Reflection;
using System.Runtime.Loader;
using ActorScheduler.Configuration;
using ActorScheduler.Tasks;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorScheduler.Host.Configuration;

/// <summary>
/// Loads the task managers of <c>actor-scheduler.assemblies</c>: every class with [PeriodicTask] methods (its own or
/// inherited) in each listed assembly, created with its parameterless constructor. Each plugin gets its own
/// AssemblyLoadContext that resolves the plugin's private dependencies from its folder but shares the host's
/// assemblies (ActorScheduler, Akka, ...), so the plugin's [PeriodicTask] is the host's attribute.
/// </summary>
internal static class PluginLoader
{
    public const string Key = "actor-scheduler.assemblies";

    /// <summary>The paths listed in actor-scheduler.assemblies, resolved against <paramref name="baseDirectory"/>.</summary>
    public static IReadOnlyList<(string Path, string Full)> Paths(Config config, string baseDirectory)
    {
        if (!config.HasPath(Key))
            return [];
        var value = config.GetValue(Key);
        if (value is null || value.IsEmpty)
            return [];
        var items = ArrayOrNull(value)
            ?? throw new PeriodicTaskConfigurationException(Key, "must be a list of assembly paths, e.g. [\"plugins/MyTasks.dll\"].");
        var paths = new List<(string, string)>();
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item.IsObject() || item.IsArray() || string.IsNullOrWhiteSpace(item.GetString()))
                throw new PeriodicTaskConfigurationException($"{Key}[{i}]", "must be the path of a .NET assembly (a string).");
            var path = item.GetString();
            var full = Path.GetFullPath(path, baseDirectory);
            if (!File.Exists(full))
                throw new PeriodicTaskConfigurationException($"{Key}[{i}]", $"assembly \"{path}\" not found ({full}).");
            paths.Add((path, full));
        }

        return paths;
    }

    /// <summary>The items of a HOCON list (Akka's reader does not report an empty list as an array), or null.</summary>
    internal static IList<HoconValue>? ArrayOrNull(HoconValue value)
    {
        if (value.IsArray())
            return value.GetArray();
        if (value.IsObject() || (value.IsString() && !string.IsNullOrWhiteSpace(value.GetString())))
            return null;
        try
        {
            return value.GetArray();
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>Loads each assembly and creates one instance of each of its task manager classes, in declaration order.</summary>
    public static IReadOnlyList<object> LoadManagers(Config config, string baseDirectory)
    {
        var managers = new List<object>();
        var paths = Paths(config, baseDirectory);
        for (var i = 0; i < paths.Count; i++)
        {
            var (path, full) = paths[i];
            var where = $"{Key}[{i}]";
            Assembly assembly;
            try
            {
                assembly = new PluginLoadContext(full).LoadFromAssemblyPath(full);
            }
            catch (BadImageFormatException)
            {
                throw new PeriodicTaskConfigurationException(where, $"\"{path}\" is not a .NET assembly.");
            }
            catch (Exception e) when (e is FileLoadException or IOException)
            {
                throw new PeriodicTaskConfigurationException(where, $"cannot load \"{path}\": {ConfigLoader.OneLine(e.Message)}");
            }

            Type[] types;
            try
            {
                types = assembly.GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                var first = e.LoaderExceptions.FirstOrDefault(x => x is not null);
                throw new PeriodicTaskConfigurationException(
                    where, $"cannot load the types of \"{path}\": {ConfigLoader.OneLine(first?.Message ?? e.Message)}");
            }

            var found = 0;
            foreach (var type in types.OrderBy(t => t.MetadataToken))
            {
                if (!type.IsClass || type.IsAbstract || type.ContainsGenericParameters || !HasPeriodicTasks(type))
                    continue;
                managers.Add(Create(type, path, where));
                found++;
            }

            if (found == 0)
                throw new PeriodicTaskConfigurationException(
                    where, $"\"{path}\" has no class with [PeriodicTask] methods (is it built against the ActorScheduler package?).");
        }

        return managers;
    }

    private static object Create(Type type, string path, string where)
    {
        if (type.GetConstructor(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, Type.EmptyTypes) is null)
            throw new PeriodicTaskConfigurationException(
                where, $"class {type.FullName} in \"{path}\" has [PeriodicTask] methods but no parameterless constructor.");
        try
        {
            return Activator.CreateInstance(type, nonPublic: true)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw new PeriodicTaskConfigurationException(
                where, $"the constructor of {type.FullName} in \"{path}\" threw: {ConfigLoader.OneLine(e.InnerException.Message)}");
        }
    }

    private static bool HasPeriodicTasks(Type type)
    {
        const BindingFlags all = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic |
                                 BindingFlags.DeclaredOnly;
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
            if (t.GetMethods(all).Any(m => m.IsDefined(typeof(PeriodicTaskAttribute), inherit: false)))
                return true;
        return false;
    }

    /// <summary>Shares every assembly the host can load itself; resolves the rest from the plugin's folder.</summary>
    private sealed class PluginLoadContext(string pluginPath) : AssemblyLoadContext(Path.GetFileNameWithoutExtension(pluginPath))
    {
        private readonly AssemblyDependencyResolver _resolver = new(pluginPath);
        private readonly string _directory = Path.GetDirectoryName(pluginPath)!;

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            try
            {
                return Default.LoadFromAssemblyName(assemblyName);
            }
            catch (FileNotFoundException)
            {
                // Not one of the host's: the plugin's own dependency.
            }

            var path = _resolver.ResolveAssemblyToPath(assemblyName) ?? Path.Combine(_directory, assemblyName.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
            return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
        }
    }
}
