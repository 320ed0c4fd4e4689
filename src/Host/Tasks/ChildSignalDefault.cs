using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ActorScheduler.Host.Tasks;

/// <summary>
/// Puts SIGCHLD back to its default before .NET installs its own handler: a host started with SIGCHLD ignored would
/// have .NET reap every child, the commands' included, before <see cref="ChildReaper"/> reads their exit status
/// (docs/host.md, "Command tasks").
/// </summary>
internal static class ChildSignalDefault
{
    private const int SigChld = 17; // x86-64 and arm64 Linux
    private const int Ignored = 1; // SIG_IGN

    [ModuleInitializer]
    internal static void Reset()
    {
        if (OperatingSystem.IsLinux() && Native.signal(SigChld, 0) is var previous && previous != Ignored)
            _ = Native.signal(SigChld, previous); // it was not ignored: leave it as it was
    }

    private static class Native
    {
        [DllImport("libc")]
        public static extern nint signal(int sig, nint handler);
    }
}
