using System.ComponentModel;
using System.Diagnostics;
using System.IO.Pipes;
using Microsoft.Win32.SafeHandles;
using ActorScheduler.Runtime;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Tasks;

/// <summary>
/// Starts the processes of command tasks so that they end with the host, also when it is killed with SIGKILL (Linux;
/// docs/architecture.md, "Command processes end with the host"):
/// <list type="bullet">
/// <item>each command is started by one <c>posix_spawn</c> from the calling thread (<see cref="PosixSpawn"/>): the
/// program itself (a command string: <c>/bin/sh -c COMMAND</c>, unless it is plain words), in a new session, so that it leads its own process
/// group, with <see cref="HostIdVariable"/> in its environment;</item>
/// <item>a watchdog (<c>bash</c>, in its own session) reads the process groups in flight from a pipe that only the
/// host holds; when the host is gone, whatever the cause, the pipe reads end of file and the watchdog kills those groups,
/// and every process that still carries this host's id (one started just before the host died, not yet told);</item>
/// <item>the host renews a deadline over that pipe every <see cref="RenewEvery"/>; when it stops renewing for
/// <see cref="Deadline"/> (frozen, stopped, starved), the watchdog kills the groups in flight, so that no command outlives
/// its host's ability to stop it (a dead man's switch, shorter than any fail-over).</item>
/// </list>
/// Elsewhere, or without bash, commands start with <see cref="Process.Start()"/> (or without a watchdog) and
/// <see cref="EndsWithHost"/> is false (the host's <see cref="RunLifetime"/> reads it).
/// </summary>
internal sealed class CommandLauncher
{
    /// <summary>The variable that carries <see cref="HostId"/> in every command's environment.</summary>
    public const string HostIdVariable = "ACTOR_SCHEDULER_HOST_ID";

    /// <summary>How often the host renews the watchdog's deadline.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromMilliseconds(500);

    /// <summary>A host that has not renewed for this long has its commands killed (docs/host.md, "Command tasks").</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(3);

    /// <summary>This host process's id among the commands' environments (random: a pid is reused, this is not).</summary>
    public static readonly string HostId = Guid.NewGuid().ToString("N");

    /// <summary>
    /// The watchdog ($1: <c>NAME=ID</c> of this host): "+ PGID" adds a group, "- PGID" removes it, "." renews; when no
    /// line came within the deadline it kills the groups listed and goes on (a host that wakes finds them killed); at end
    /// of input it kills them, then every process whose environment carries the host's id, and exits.
    /// </summary>
    internal static readonly string WatchdogScript = $$"""
        exec >/dev/null 2>&1
        trap '' HUP INT QUIT TERM
        mark=$1
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
        for env in /proc/[0-9]*/environ; do
          while IFS= read -r -d '' entry; do
            if [ "$entry" = "$mark" ]; then
              pid=${env#/proc/}; pid=${pid%/environ}
              kill -KILL -"$pid" "$pid"
              break
            fi
          done < "$env"
        done
        """;

    private static readonly Lock SharedGate = new();
    private static CommandLauncher? _shared;

    private readonly Lock _watchdogGate = new();
    private readonly Lock _warnGate = new();
    private readonly bool _spawns;
    private readonly string? _bash;
    private StreamWriter? _watchdog;
    private volatile ILogger? _log;
    private volatile bool _warned;

    private CommandLauncher(bool spawns, string? bash, string? unavailable)
    {
        _spawns = spawns;
        _bash = bash;
        Unavailable = unavailable;
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
        launcher.StartWatchdog();
        if (hasCommands)
            launcher.WarnOnce();
    }

    /// <summary>
    /// Starts <paramref name="start"/> (whose FileName is resolved as <see cref="Process.Start()"/> does; a command string
    /// is given as <c>/bin/sh -c COMMAND</c>) with its output redirected and its input closed, on the calling thread.
    /// </summary>
    /// <exception cref="Win32Exception">the program cannot be started.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the start.</exception>
    public CommandProcess Start(ProcessStartInfo start, CancellationToken cancellationToken = default)
    {
        WarnOnce();
        cancellationToken.ThrowIfCancellationRequested();
        if (!_spawns)
        {
            var process = new Process { StartInfo = start };
            process.Start();
            return CommandProcess.FromProcess(process);
        }

        StartWatchdog();
        var shellCommand = start.FileName == Shell && start.ArgumentList is ["-c", var text] ? text : null;
        var (program, argv) = shellCommand is null ? Direct(Resolve(start.FileName), start.ArgumentList)
            : PlainWords(shellCommand, start.Environment.TryGetValue("PATH", out var path) ? path : null) ?? (Shell, [Shell, "-c", shellCommand]);
        var environment = start.Environment.Where(e => e.Key != HostIdVariable).Select(e => $"{e.Key}={e.Value}")
            .Append($"{HostIdVariable}={HostId}");
        var started = PosixSpawn.Spawn(program, argv, environment, string.IsNullOrEmpty(start.WorkingDirectory) ? null : start.WorkingDirectory,
            pipeOutput: true);
        TellWatchdog($"+ {started.Pid}");
        return CommandProcess.FromSpawn(started);
    }

    private static (string, string[]) Direct(string program, IEnumerable<string> args) => (program, [program, .. args]);

    /// <summary>A command process ended: its group is no longer the watchdog's to kill.</summary>
    public void Ended(CommandProcess process)
    {
        if (process.LeadsGroup)
            TellWatchdog($"- {process.Id}");
    }

    private static CommandLauncher Create()
    {
        if (PosixSpawn.Unavailable() is { } why)
            return new CommandLauncher(false, null, why);
        var bash = OnPath("bash");
        return bash is null
            ? new CommandLauncher(true, null, "bash, which runs the commands' watchdog, not found on PATH")
            : new CommandLauncher(true, bash, null);
    }

    /// <summary>The shell of command strings.</summary>
    internal const string Shell = "/bin/sh";

    /// <summary>The characters of a word the shell would take as it is (no quoting, expansion, globbing or operator).</summary>
    private static readonly System.Buffers.SearchValues<char> PlainCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-");

    /// <summary>The builtins of dash (Debian's /bin/sh): the shell runs its own, which may differ from a program of that name.</summary>
    private static readonly HashSet<string> Builtins = new(StringComparer.Ordinal)
    {
        ".", ":", "[", "alias", "bg", "break", "cd", "command", "continue", "echo", "eval", "exec", "exit", "export", "false", "fc", "fg",
        "getopts", "hash", "jobs", "kill", "local", "printf", "pwd", "read", "readonly", "return", "set", "shift", "test", "times", "trap",
        "true", "type", "ulimit", "umask", "unalias", "unset", "wait",
    };

    /// <summary>
    /// A command string that is only plain words, whose first names a program found on <paramref name="path"/> (not a
    /// path, an assignment or a builtin): the program and argv the shell would exec; else null (the string runs under the shell).
    /// </summary>
    internal static (string Program, string[] Argv)? PlainWords(string command, string? path)
    {
        var words = command.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || words.Any(w => w.AsSpan().ContainsAnyExcept(PlainCharacters)) || words[0].Contains('=')
            || words[0].Contains('/') || Builtins.Contains(words[0]))
            return null;
        return OnPath(words[0], path ?? "", rootedOnly: true) is { } program ? (program, words) : null;
    }

    /// <summary>
    /// The program as <see cref="Process.Start()"/> would find it (a rooted path as given; else next to the running
    /// executable, in the current directory, then on PATH), so that a missing program fails the start with the reason
    /// Process.Start gives.
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

    /// <summary>
    /// The first executable <paramref name="program"/> in the folders of <paramref name="path"/> (null: this process's
    /// PATH); with <paramref name="rootedOnly"/> relative folders are skipped (they would resolve against this process's folder).
    /// </summary>
    private static string? OnPath(string program, string? path = null, bool rootedOnly = false) =>
        (path ?? Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Where(dir => !rootedOnly || Path.IsPathRooted(dir))
        .Select(dir => Path.Combine(dir, program))
        .FirstOrDefault(file => File.Exists(file) && IsExecutable(file));

    private static bool IsExecutable(string path) =>
        OperatingSystem.IsWindows()
        || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    /// <summary>Starts the watchdog once (in its own session, its input a pipe that only this process holds).</summary>
    private void StartWatchdog()
    {
        lock (_watchdogGate)
        {
            if (_watchdog is not null || Unavailable is not null)
                return;
            try
            {
                var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                    .Select(e => $"{e.Key}={e.Value}");
                var started = PosixSpawn.Spawn(_bash!, [_bash!, "-c", WatchdogScript, "watchdog", $"{HostIdVariable}={HostId}"], environment, null,
                    pipeOutput: false, pipeInput: true);
                _watchdog = new StreamWriter(new AnonymousPipeClientStream(PipeDirection.Out, new SafePipeHandle(started.Stdin, ownsHandle: true)))
                    { AutoFlush = true };
                ChildReaper.Watch(started.Pid).ContinueWith(_ => TellWatchdog(null), TaskScheduler.Default);
                new Thread(Renew) { IsBackground = true, Name = "command-watchdog-renewal" }.Start();
            }
            catch (Win32Exception e)
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

    /// <summary>Writes <paramref name="line"/> to the watchdog; null: it has ended.</summary>
    private void TellWatchdog(string? line)
    {
        lock (_watchdogGate)
        {
            if (_watchdog is null || Unavailable is not null)
                return;
            try
            {
                if (line is null)
                    throw new IOException("it exited");
                _watchdog.WriteLine(line);
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
}
