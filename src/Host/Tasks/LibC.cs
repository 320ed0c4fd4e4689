using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ActorScheduler.Host.Tasks;

/// <summary>The C library calls that the command launcher's pieces share (Linux numbers and flags).</summary>
internal static class LibC
{
    public const int SigKill = 9;
    public const int CloseOnExec = 0x80000; // O_CLOEXEC
    public const int NonBlocking = 0x800; // O_NONBLOCK

    /// <summary>A pipe: [read end, write end], opened with <paramref name="flags"/>.</summary>
    /// <exception cref="Win32Exception">pipe2 failed.</exception>
    public static int[] Pipe(int flags)
    {
        var fds = new int[2];
        if (pipe2(fds, flags) != 0)
            throw new Win32Exception(Marshal.GetLastPInvokeError());
        return fds;
    }

    /// <summary>Closes <paramref name="fd"/> when open, and marks it closed (-1).</summary>
    public static void Close(ref int fd)
    {
        if (fd >= 0)
            _ = close(fd);
        fd = -1;
    }

    [DllImport("libc", SetLastError = true)]
    public static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    public static extern int kill(int pid, int sig);

    [DllImport("libc", SetLastError = true)]
    private static extern int pipe2(int[] fds, int flags);
}
