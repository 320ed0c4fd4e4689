using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ActorScheduler.Host.Tasks;

/// <summary>
/// Starts a process with one <c>posix_spawn</c> (glibc, Linux): in a new session (it leads its own process group), with
/// every signal at its default disposition and none blocked, standard input from <c>/dev/null</c>, and standard output
/// and error to pipes when asked (docs/host.md, "Command tasks").
/// </summary>
internal static class PosixSpawn
{
    private const short SetSigDef = 0x04;
    private const short SetSigMask = 0x08;
    private const short SetSid = 0x80;
    private const int ReadOnly = 0;

    /// <summary>Opaque glibc structures, given more room than they take (336 and 80 bytes on x86-64; sigset_t: 128).</summary>
    private const int StructBytes = 1024;

    /// <summary>A started process: its id, the read ends of its output pipes and the write end of its input pipe (-1 when not piped).</summary>
    public readonly record struct Started(int Pid, int Stdout, int Stderr, int Stdin);

    /// <summary>
    /// Starts <paramref name="path"/> (an absolute path) with <paramref name="argv"/> (argv[0] first) and
    /// <paramref name="environment"/> (NAME=value), in <paramref name="workingDirectory"/> when given.
    /// </summary>
    /// <param name="pipeOutput">Standard output and error to pipes (else both to /dev/null).</param>
    /// <param name="pipeInput">Standard input from a pipe whose write end is returned (else /dev/null).</param>
    /// <exception cref="Win32Exception">the program cannot be started (its errno's message).</exception>
    public static Started Spawn(string path, IReadOnlyList<string> argv, IEnumerable<string> environment, string? workingDirectory,
        bool pipeOutput, bool pipeInput = false)
    {
        var allocated = new List<IntPtr>();
        var actions = Alloc(allocated);
        var attr = Alloc(allocated);
        var sigDefault = Alloc(allocated);
        var sigMask = Alloc(allocated);
        int[] output = [-1, -1], error = [-1, -1], input = [-1, -1];
        var actionsMade = false;
        var attrMade = false;
        try
        {
            Check(Native.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            actionsMade = true;
            Check(Native.posix_spawnattr_init(attr), "posix_spawnattr_init");
            attrMade = true;
            Native.sigfillset(sigDefault);
            Native.sigemptyset(sigMask);
            Check(Native.posix_spawnattr_setsigdefault(attr, sigDefault), "posix_spawnattr_setsigdefault");
            Check(Native.posix_spawnattr_setsigmask(attr, sigMask), "posix_spawnattr_setsigmask");
            Check(Native.posix_spawnattr_setflags(attr, SetSid | SetSigDef | SetSigMask), "posix_spawnattr_setflags");

            if (pipeInput)
            {
                input = LibC.Pipe(LibC.CloseOnExec);
                Check(Native.posix_spawn_file_actions_adddup2(actions, input[0], 0), "posix_spawn_file_actions_adddup2");
            }
            else
                Check(Native.posix_spawn_file_actions_addopen(actions, 0, "/dev/null", ReadOnly, 0), "posix_spawn_file_actions_addopen");

            if (pipeOutput)
            {
                output = LibC.Pipe(LibC.CloseOnExec);
                error = LibC.Pipe(LibC.CloseOnExec);
                Check(Native.posix_spawn_file_actions_adddup2(actions, output[1], 1), "posix_spawn_file_actions_adddup2");
                Check(Native.posix_spawn_file_actions_adddup2(actions, error[1], 2), "posix_spawn_file_actions_adddup2");
            }
            else
            {
                Check(Native.posix_spawn_file_actions_addopen(actions, 1, "/dev/null", 1, 0), "posix_spawn_file_actions_addopen");
                Check(Native.posix_spawn_file_actions_adddup2(actions, 1, 2), "posix_spawn_file_actions_adddup2");
            }

            if (workingDirectory is not null)
                Check(Native.posix_spawn_file_actions_addchdir_np(actions, workingDirectory), "posix_spawn_file_actions_addchdir_np");

            var args = Strings(argv, allocated);
            var env = Strings(environment, allocated);
            var result = Native.posix_spawn(out var pid, path, actions, attr, args, env);
            if (result != 0)
                throw new Win32Exception(result);

            // The child holds its own copies now; the parent keeps only its ends.
            LibC.Close(ref output[1]);
            LibC.Close(ref error[1]);
            LibC.Close(ref input[0]);
            return new Started(pid, output[0], error[0], input[1]);
        }
        catch
        {
            foreach (var fd in output.Concat(error).Concat(input))
                if (fd >= 0)
                    _ = LibC.close(fd);
            throw;
        }
        finally
        {
            if (actionsMade)
                _ = Native.posix_spawn_file_actions_destroy(actions);
            if (attrMade)
                _ = Native.posix_spawnattr_destroy(attr);
            foreach (var pointer in allocated)
                Marshal.FreeHGlobal(pointer);
        }
    }

    /// <summary>Null where this start path works (Linux, glibc's posix_spawn, pidfd_open: kernel 5.3 or later), else why not.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
            return "commands are tied to the host on Linux only";
        try
        {
            var pidfd = ChildReaper.Open(Environment.ProcessId);
            if (pidfd < 0)
                return $"pidfd_open is not available ({new Win32Exception(Marshal.GetLastPInvokeError()).Message})";
            _ = LibC.close(pidfd);
            var probe = Alloc([]);
            try
            {
                _ = Native.posix_spawn_file_actions_init(probe);
                _ = Native.posix_spawn_file_actions_addchdir_np(probe, "/");
                _ = Native.posix_spawn_file_actions_destroy(probe);
            }
            finally
            {
                Marshal.FreeHGlobal(probe);
            }

            return null;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return $"the C library lacks {e.Message}";
        }
    }

    private static IntPtr Alloc(List<IntPtr> allocated)
    {
        var pointer = Marshal.AllocHGlobal(StructBytes);
        Marshal.Copy(new byte[StructBytes], 0, pointer, StructBytes);
        allocated.Add(pointer);
        return pointer;
    }

    /// <summary>A NULL-terminated array of UTF-8 strings, freed with <paramref name="allocated"/>.</summary>
    private static IntPtr Strings(IEnumerable<string> values, List<IntPtr> allocated)
    {
        var texts = values.ToList();
        var array = Marshal.AllocHGlobal(IntPtr.Size * (texts.Count + 1));
        allocated.Add(array);
        for (var i = 0; i < texts.Count; i++)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(texts[i] + "\0");
            var text = Marshal.AllocHGlobal(bytes.Length);
            allocated.Add(text);
            Marshal.Copy(bytes, 0, text, bytes.Length);
            Marshal.WriteIntPtr(array, i * IntPtr.Size, text);
        }

        Marshal.WriteIntPtr(array, texts.Count * IntPtr.Size, IntPtr.Zero);
        return array;
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
            throw new Win32Exception(result, $"{call}: {new Win32Exception(result).Message}");
    }

    private static class Native
    {
        [DllImport("libc")]
        public static extern int sigemptyset(IntPtr set);

        [DllImport("libc")]
        public static extern int sigfillset(IntPtr set);

        [DllImport("libc")]
        public static extern int posix_spawnattr_init(IntPtr attr);

        [DllImport("libc")]
        public static extern int posix_spawnattr_destroy(IntPtr attr);

        [DllImport("libc")]
        public static extern int posix_spawnattr_setflags(IntPtr attr, short flags);

        [DllImport("libc")]
        public static extern int posix_spawnattr_setsigdefault(IntPtr attr, IntPtr set);

        [DllImport("libc")]
        public static extern int posix_spawnattr_setsigmask(IntPtr attr, IntPtr set);

        [DllImport("libc")]
        public static extern int posix_spawn_file_actions_init(IntPtr actions);

        [DllImport("libc")]
        public static extern int posix_spawn_file_actions_destroy(IntPtr actions);

        [DllImport("libc")]
        public static extern int posix_spawn_file_actions_adddup2(IntPtr actions, int fd, int newFd);

        [DllImport("libc")]
        public static extern int posix_spawn_file_actions_addopen(IntPtr actions, int fd,
            [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [DllImport("libc")]
        public static extern int posix_spawn_file_actions_addchdir_np(IntPtr actions, [MarshalAs(UnmanagedType.LPUTF8Str)] string path);

        [DllImport("libc")]
        public static extern int posix_spawn(out int pid, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr actions, IntPtr attr,
            IntPtr argv, IntPtr envp);
    }
}
