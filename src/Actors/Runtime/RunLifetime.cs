using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Whether every run of an ActorSystem ends when its process ends (bodies run in it; a command's processes
/// die with it), which lets a new owner start a task whose recorded run belonged to a process that is gone
/// (docs/cluster.md, "Never two runs of one cluster task"). True unless the system's host says otherwise.
/// </summary>
internal sealed class RunLifetime : IExtension
{
    private volatile Func<bool> _endsWithProcess = () => true;

    /// <summary>This process's id in recorded runs: a run recorded by another id belongs to another process.</summary>
    public static string ProcessId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>False while runs can outlive the process (a command task where no parent-death signal is available).</summary>
    public bool EndsWithProcess => _endsWithProcess();

    public static RunLifetime For(ActorSystem system) => system.WithExtension<RunLifetime, Provider>();

    /// <summary>Runs end with the process while <paramref name="check"/> says so (the console host's command launcher).</summary>
    public void EndsWithProcessWhile(Func<bool> check) => _endsWithProcess = check;

    private sealed class Provider : ExtensionIdProvider<RunLifetime>
    {
        public override RunLifetime CreateExtension(ExtendedActorSystem system) => new();
    }
}
