using System.Globalization;
using System.Runtime.InteropServices;

namespace ActorScheduler.Testing.Support;

/// <summary>POSIX signals (Linux, macOS): sending one to a process, and the SIGINT disposition that children inherit.</summary>
internal static class Signals
{
    public const int SigHup = 1;
    public const int SigInt = 2;
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>
    /// Sends <paramref name="signal"/> to <paramref name="pid"/> (kill(2)); throws with errno when that fails, naming the
    /// signal as <paramref name="name"/> (its number by default).
    /// </summary>
    public static void Send(int pid, int signal, string? name = null)
    {
        if (Native.kill(pid, signal) != 0)
            throw new InvalidOperationException(
                $"kill({pid}, {name ?? signal.ToString(CultureInfo.InvariantCulture)}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when kill(2) fails.</summary>
    public static bool TrySend(int pid, int signal) => Native.kill(pid, signal) == 0;

    /// <summary>
    /// A test run started in the background by a non-interactive shell inherits SIGINT as ignored, every child inherits
    /// that, and .NET keeps an ignored SIGINT ignored: a child could never be stopped with SIGINT (Ctrl+C). This gives
    /// this process, and so its children, the default disposition back; only when it is ignored here, so that the test
    /// runner's own handler is left alone (Linux).
    /// </summary>
    public static void DefaultSigIntForChildren()
    {
        if (OperatingSystem.IsLinux() && Ignored(SigInt))
            Native.signal(SigInt, IntPtr.Zero /* SIG_DFL */);
    }

    private static bool Ignored(int signal)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null
               && ulong.TryParse(line["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, null, out var mask)
               && (mask & (1UL << (signal - 1))) != 0;
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int sig);

        [DllImport("libc")]
        public static extern IntPtr signal(int signum, IntPtr handler);
    }
}
