using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ActorScheduler.Host.Tasks;

/// <summary>
/// Waits for the processes that <see cref="PosixSpawn"/> started (.NET reaps only the children it started itself): one
/// thread polls a pidfd of each and reaps it when it exits (docs/architecture.md, "Command processes end with the host").
/// </summary>
internal static class ChildReaper
{
    /// <summary>The exit code reported when the status was reaped elsewhere in the process (it cannot be known).</summary>
    public const int UnknownExit = -1;

    private const long PidfdOpen = 434; // the same number on every Linux architecture (a syscall newer than 5.0)
    private const short PollIn = 1;
    private const int NoHang = 1;
    private const int Interrupted = 4;

    private static readonly Lock Gate = new();
    private static readonly Dictionary<int, Child> Children = []; // by pidfd
    private static int[]? _wake;

    /// <summary>A pidfd of <paramref name="pid"/>, or -1 (errno set).</summary>
    public static int Open(int pid) => (int)Native.syscall(PidfdOpen, pid, 0);

    /// <summary>Completes with the exit code of <paramref name="pid"/> (a child of this process): 0-255, or 128+N after signal N.</summary>
    /// <exception cref="Win32Exception">no pidfd could be opened.</exception>
    public static Task<int> Watch(int pid)
    {
        var pidfd = Open(pid);
        if (pidfd < 0)
            throw new Win32Exception(Marshal.GetLastPInvokeError());
        var exited = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (Gate)
        {
            if (_wake is null)
            {
                try
                {
                    _wake = LibC.Pipe(LibC.CloseOnExec | LibC.NonBlocking);
                }
                catch (Win32Exception)
                {
                    _ = LibC.close(pidfd);
                    throw;
                }

                new Thread(Loop) { IsBackground = true, Name = "command-reaper" }.Start();
            }

            Children[pidfd] = new Child(pid, exited);
        }

        _ = Native.write(_wake[1], [1], 1); // a full pipe already wakes it
        return exited.Task;
    }

    private static void Loop()
    {
        var drain = new byte[256];
        while (true)
        {
            PollFd[] polls;
            lock (Gate)
            {
                polls = new PollFd[Children.Count + 1];
                polls[0] = new PollFd { Fd = _wake![0], Events = PollIn };
                var i = 1;
                foreach (var pidfd in Children.Keys)
                    polls[i++] = new PollFd { Fd = pidfd, Events = PollIn };
            }

            if (Native.poll(polls, (nuint)polls.Length, -1) < 0)
            {
                if (Marshal.GetLastPInvokeError() != Interrupted)
                    Thread.Sleep(10); // not expected: do not spin
                continue;
            }

            if (polls[0].Revents != 0)
                while (Native.read(_wake![0], drain, drain.Length) > 0)
                {
                }

            for (var i = 1; i < polls.Length; i++)
                if (polls[i].Revents != 0)
                    Reap(polls[i].Fd);
        }
    }

    private static void Reap(int pidfd)
    {
        Child child;
        lock (Gate)
            if (!Children.TryGetValue(pidfd, out child!))
                return;

        var reaped = Native.waitpid(child.Pid, out var status, NoHang);
        if (reaped == 0)
            return; // not exited after all
        var code = reaped == child.Pid ? Decode(status) : UnknownExit;
        lock (Gate)
            Children.Remove(pidfd);
        _ = LibC.close(pidfd);
        child.Exited.TrySetResult(code);
    }

    private static int Decode(int status) => (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);

    private sealed record Child(int Pid, TaskCompletionSource<int> Exited);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern long syscall(long number, int pid, uint flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int poll([In, Out] PollFd[] fds, nuint count, int timeout);

        [DllImport("libc", SetLastError = true)]
        public static extern nint read(int fd, byte[] buffer, nint count);

        [DllImport("libc", SetLastError = true)]
        public static extern nint write(int fd, byte[] buffer, nint count);

        [DllImport("libc", SetLastError = true)]
        public static extern int waitpid(int pid, out int status, int options);
    }
}
