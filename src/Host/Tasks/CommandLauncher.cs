using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using ActorScheduler.Runtime;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Tasks;

/// <summary>
/// Starts the processes of command tasks so that they end with the host, also when it is killed with SIGKILL (Linux with
/// util-linux's setpriv and setsid; docs/architecture.md, "Command processes end with the host"):
/// <list type="bullet">
/// <item>each command runs as <c>setpriv --pdeathsig KILL -- setsid -- sh -c PARENT-CHECK sh HOST-PID PROGRAM ARGS</c>
/// (a command string: <c>... sh -c SHELL-CHECK sh HOST-PID COMMAND</c>, the same shell running it): the kernel kills it
/// when the thread that forked it ends, it leads its own process group (and session), and it does not start when the
/// host died before the signal was armed;</item>
/// <item>every process is forked by one of a few dedicated threads that live as long as the host (.NET forks on the
/// calling thread, and a thread-pool thread may retire while the command still runs), so starts do not wait for each other;</item>
/// <item>a watchdog (<c>bash</c>, in its own session) reads the process groups in flight from a pipe that only the
/// host holds; when the host is gone, whatever the cause, the pipe reads end of file and the watchdog kills those groups,
/// so that the command's children (a shell's commands, their children) die too;</item>
/// <item>the host renews a deadline over that pipe every <see cref="RenewEvery"/>; when it stops renewing for
/// <see cref="Deadline"/> (frozen, stopped, starved), the watchdog kills the groups in flight, so that no command outlives
/// its host's ability to stop it (a dead man's switch, shorter than any fail-over).</item>
/// </list>
/// Elsewhere, or without those programs, commands start as before and <see cref="EndsWithHost"/> is false (the host's
/// <see cref="RunLifetime"/> reads it).
/// </summary>
internal sealed class CommandLauncher
{
    private const int SigKill = 9;

    /// <summary>How often the host renews the watchdog's deadline.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromMilliseconds(500);

    /// <summary>A host that has not renewed for this long has its commands killed (docs/host.md, "Command tasks").</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    /// <summary>The forking threads: a start takes one while the others start other commands.</summary>
    internal static readonly int Threads = Math.Clamp(Environment.ProcessorCount, 2, 4);

    /// <summary>
    /// The watchdog: "+ PGID" adds a group, "- PGID" removes it, "." renews; at end of input, and when no line came
    /// within the deadline, it kills the groups listed (after a deadline it goes on: a host that wakes finds them killed).
    /// </summary>
    private static readonly string WatchdogScript = $$"""
        exec >/dev/null 2>&1
        trap '' HUP INT QUIT TERM
        groups=' '
        while :; do
          if read -r -t {{(int)Deadline.TotalSeconds}} op id; then
            case $op in
              +) groups="$groups$id " ;;
              -) case $groups in *" $id "*) groups="${groups%% $id *} ${groups#* $id }" ;; esac ;;
            esac
          elif [ $? -gt 128 ]; then
            for id in $groups; do kill -KILL -"$id"; done
            groups=' '
          else
            break
          fi
        done
        for id in $groups; do kill -KILL -"$id"; done
        """;

    private static readonly Lock SharedGate = new();
    private static CommandLauncher? _shared;

    private readonly BlockingCollection<Request>? _requests;
    private readonly Lock _watchdogGate = new();
    private readonly Lock _warnGate = new();
    private readonly string? _setpriv;
    private readonly string? _setsid;
    private readonly string? _bash;
    private Process? _watchdog;
    private volatile ILogger? _log;
    private volatile bool _warned;

    private CommandLauncher(string? setpriv, string? setsid, string? unavailable, string? bash = null)
    {
        _setpriv = setpriv;
        _setsid = setsid;
        _bash = bash;
        Unavailable = unavailable;
        if (unavailable is not null)
            return;

        _requests = [];
        for (var i = 0; i < Threads; i++)
            new Thread(Serve) { IsBackground = true, Name = "command-launcher-" + i }.Start();
    }

    /// <summary>The launcher of this process, made on first use.</summary>
    public static CommandLauncher Shared
    {
        get
        {
            lock (SharedGate)
                return _shared ??= Create();
        }
    }

    /// <summary>Why commands can outlive the host here, or null when they end with it.</summary>
    public string? Unavailable { get; private set; }

    /// <summary>True when commands are started so that they end with the host (and their process groups can be killed).</summary>
    public bool EndsWithHost => Unavailable is null;

    /// <summary>
    /// At the start of <c>run</c> and <c>run-once</c>: makes the launcher (and its watchdog) now, and logs one warning
    /// when commands can outlive the host, once there are command tasks (now, or at the first command started later).
    /// </summary>
    public static void Prepare(ILogger log, bool hasCommands)
    {
        var launcher = Shared;
        launcher._log = log;
        if (launcher.EndsWithHost)
            launcher.EnsureWatchdog();
        if (hasCommands)
            launcher.WarnOnce();
    }

    /// <summary>
    /// Starts <paramref name="start"/> (whose FileName is resolved as <see cref="Process.Start()"/> does) on one of the
    /// launcher's threads; a request cancelled while it waits for them is not started. A command string is given as
    /// <c>/bin/sh -c COMMAND</c>.
    /// </summary>
    /// <exception cref="Win32Exception">the program cannot be started.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the start.</exception>
    public Task<Process> StartAsync(ProcessStartInfo start, CancellationToken cancellationToken = default)
    {
        WarnOnce();
        cancellationToken.ThrowIfCancellationRequested();
        if (_requests is null)
        {
            var process = new Process { StartInfo = start };
            process.Start();
            return Task.FromResult(process);
        }

        var request = new Request(Wrapped(start), new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
        _requests.Add(request);
        return request.Started.Task;
    }

    /// <summary>A command process ended: its group is no longer the watchdog's to kill.</summary>
    public void Ended(Process process)
    {
        if (EndsWithHost)
            TellWatchdog($"- {process.Id}");
    }

    /// <summary>Kills the process group led by <paramref name="process"/> (its shell's children included) while it runs.</summary>
    public void KillGroup(Process process)
    {
        if (_requests is not null && !process.HasExited) // started by setsid: it leads its own group
            _ = Native.kill(-process.Id, SigKill);
    }

    private static CommandLauncher Create()
    {
        if (!OperatingSystem.IsLinux())
            return new CommandLauncher(null, null, "setpriv --pdeathsig is Linux only");
        var setpriv = OnPath("setpriv");
        var setsid = OnPath("setsid");
        var bash = OnPath("bash");
        if (setpriv is null || setsid is null)
            return new CommandLauncher(null, null,
                $"{string.Join(" and ", new[] { setpriv is null ? "setpriv" : null, setsid is null ? "setsid" : null }.OfType<string>())} (util-linux) not found on PATH");
        if (bash is null)
            return new CommandLauncher(null, null, "bash, which runs the commands' watchdog, not found on PATH");
        return new CommandLauncher(setpriv, setsid, null, bash);
    }

    /// <summary>
    /// Run after setpriv has armed the parent-death signal, before the command: a host that died between the fork and
    /// that moment sends no signal, and its command would live on (not yet known to the watchdog either); its parent is
    /// then no longer the host, and the command does not start.
    /// </summary>
    internal const string ParentCheck = "[ \"$PPID\" = \"$1\" ] || exit 137; shift; exec \"$@\"";

    /// <summary>
    /// <see cref="ParentCheck"/> for a command string, which the checking shell then runs itself (one exec fewer than
    /// <c>exec /bin/sh -c COMMAND</c>): <c>shift 2</c> inside the eval leaves it no positional parameters, as under <c>sh -c</c>.
    /// </summary>
    internal const string ShellCheck = "[ \"$PPID\" = \"$1\" ] || exit 137; eval \"shift 2; $2\"";

    private static readonly string HostPid = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static readonly string Shell = File.Exists("/bin/sh") ? "/bin/sh" : "sh";

    /// <summary>The request that runs <paramref name="start"/> under setpriv and setsid, after <see cref="ParentCheck"/> (or <see cref="ShellCheck"/>).</summary>
    private ProcessStartInfo Wrapped(ProcessStartInfo start)
    {
        var shellCommand = start.FileName == "/bin/sh" && start.ArgumentList is ["-c", var text] ? text : null;
        var program = shellCommand is null ? Resolve(start.FileName) : null;
        var wrapped = new ProcessStartInfo(_setpriv!)
        {
            UseShellExecute = false,
            RedirectStandardInput = start.RedirectStandardInput,
            RedirectStandardOutput = start.RedirectStandardOutput,
            RedirectStandardError = start.RedirectStandardError,
            CreateNoWindow = start.CreateNoWindow,
            WorkingDirectory = start.WorkingDirectory,
        };
        foreach (var arg in (string[])["--pdeathsig", "KILL", "--", _setsid!, "--", Shell, "-c", program is null ? ShellCheck : ParentCheck, "sh", HostPid])
            wrapped.ArgumentList.Add(arg);
        if (program is null)
            wrapped.ArgumentList.Add(shellCommand!);
        else
        {
            wrapped.ArgumentList.Add(program);
            foreach (var arg in start.ArgumentList)
                wrapped.ArgumentList.Add(arg);
        }
        wrapped.Environment.Clear();
        foreach (var (key, value) in start.Environment)
            wrapped.Environment[key] = value;
        return wrapped;
    }

    /// <summary>
    /// The program as <see cref="Process.Start()"/> would find it (a rooted path as given; else next to the running
    /// executable, in the current directory, then on PATH), so that a missing program fails the start as it does without
    /// the wrapper rather than in setpriv.
    /// </summary>
    /// <exception cref="Win32Exception">not found, a directory, or not executable.</exception>
    internal static string Resolve(string fileName)
    {
        string? found = null;
        if (Path.IsPathRooted(fileName))
            found = fileName;
        else if (Environment.ProcessPath is { } exe && File.Exists(Path.Combine(Path.GetDirectoryName(exe)!, fileName)))
            found = Path.Combine(Path.GetDirectoryName(exe)!, fileName);
        else if (File.Exists(Path.Combine(Directory.GetCurrentDirectory(), fileName)))
            found = Path.Combine(Directory.GetCurrentDirectory(), fileName);
        else
            found = OnPath(fileName);

        if (found is null || (!File.Exists(found) && !Directory.Exists(found)))
            throw new Win32Exception("No such file or directory");
        if (Directory.Exists(found))
            throw new Win32Exception("it is a directory");
        if (!IsExecutable(found))
            throw new Win32Exception("Permission denied");
        return found;
    }

    private static string? OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, program))
        .FirstOrDefault(path => File.Exists(path) && IsExecutable(path));

    private static bool IsExecutable(string path) =>
        OperatingSystem.IsWindows()
        || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    /// <summary>A forking thread: starts command processes (and the watchdog), one at a time, as long as the host lives.</summary>
    private void Serve()
    {
        foreach (var request in _requests!.GetConsumingEnumerable())
        {
            if (request.Start is null)
            {
                StartWatchdog();
                request.Started.TrySetResult(null!);
                continue;
            }

            if (request.Cancelled.IsCancellationRequested) // e.g. a run cancelled by a hand-over while many starts queue
            {
                request.Started.TrySetCanceled(request.Cancelled);
                continue;
            }

            Process? process = null;
            try
            {
                process = new Process { StartInfo = request.Start };
                process.Start();
            }
            catch (Exception e)
            {
                process?.Dispose();
                request.Started.TrySetException(e);
                continue;
            }

            StartWatchdog();
            TellWatchdog($"+ {process.Id}");
            request.Started.TrySetResult(process);
        }
    }

    /// <summary>Starts the watchdog on a launcher thread and waits for it.</summary>
    private void EnsureWatchdog()
    {
        var request = new Request(null, new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously), default);
        _requests!.Add(request);
        request.Started.Task.Wait();
    }

    private void StartWatchdog()
    {
        lock (_watchdogGate)
        {
            if (_watchdog is not null || Unavailable is not null)
                return;
            try
            {
                var start = new ProcessStartInfo(_setsid!) { UseShellExecute = false, RedirectStandardInput = true };
                foreach (var arg in (string[])["--", _bash!, "-c", WatchdogScript])
                    start.ArgumentList.Add(arg);
                _watchdog = Process.Start(start)!;
                new Thread(Renew) { IsBackground = true, Name = "command-watchdog-renewal" }.Start();
            }
            catch (Exception e) when (e is Win32Exception or InvalidOperationException)
            {
                Unavailable = $"the watchdog process could not start ({e.Message})";
            }
        }
    }

    /// <summary>The renewals: a thread of its own, so that a busy thread pool does not delay them.</summary>
    private void Renew()
    {
        while (Unavailable is null)
        {
            Thread.Sleep(RenewEvery);
            TellWatchdog(".");
        }
    }

    private void TellWatchdog(string line)
    {
        lock (_watchdogGate)
        {
            if (_watchdog is null || Unavailable is not null)
                return;
            try
            {
                _watchdog.StandardInput.WriteLine(line);
            }
            catch (IOException e)
            {
                Unavailable = $"the watchdog process ended ({e.Message})";
                _warned = false;
            }
        }

        WarnOnce();
    }

    private void WarnOnce()
    {
        if (Unavailable is not { } why || _warned || _log is null)
            return;
        lock (_warnGate)
        {
            if (_warned)
                return;
            _warned = true;
        }

        _log.LogWarning(
            "command processes can outlive this host: {Why}. If the host is killed (kill -9, out of memory, a crash), commands " +
            "still running keep running, with their children; a cluster-scoped task may then start on another node while they do",
            why);
    }

    private sealed record Request(ProcessStartInfo? Start, TaskCompletionSource<Process> Started, CancellationToken Cancelled);

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int sig);
    }
}
