using Akka.Configuration;

namespace ActorScheduler.Host.Configuration;

/// <summary>A configuration as the host read it: the parsed HOCON and where it came from.</summary>
/// <param name="Config">The whole file, handed as it is to the ActorSystem (reference.conf is the fallback).</param>
/// <param name="Source">The file's path, or "built-in demo (hocon/host.conf)".</param>
/// <param name="BaseDirectory">Relative paths in the file (assemblies, working-directory) resolve against it.</param>
/// <param name="SetName">The task set's name: the file's name without extension, or ComputeManager for the demo.</param>
/// <param name="IsBuiltIn">True for the built-in demo.</param>
internal sealed record LoadedConfig(Config Config, string Source, string BaseDirectory, string SetName, bool IsBuiltIn);
