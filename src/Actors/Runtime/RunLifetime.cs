namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Whether every run of this process ends when the process ends (bodies run in it; a command's processes
/// die with it), which lets a new owner start a task whose recorded run belonged to a process that is gone
/// (docs/cluster.md, "Never two runs of one cluster task").
/// </summary>
internal static class RunLifetime
{
    /// <summary>False when runs can outlive the process (a command task where no parent-death signal is available).</summary>
    public static volatile bool EndsWithProcess = true;

    /// <summary>This process's id in recorded runs: a run recorded by another id belongs to another process.</summary>
    public static string ProcessId { get; } = Guid.NewGuid().ToString("N");
}
