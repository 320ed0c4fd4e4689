using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Tasks;
using Akka.Configuration.Hocon;
using Akka.Event;

namespace ActorScheduler.Host.Tasks;

/// <summary>
/// A task whose body is an operating-system command, from an <c>actor-scheduler.tasks.NAME</c> entry with
/// <c>command</c>: a string runs under <c>/bin/sh -c</c>, a list [program, args...] runs without a shell. Exit code 0
/// is success; anything else fails the run with the code and the last lines of standard error. On cancellation
/// (timeout or stop) the command's whole process tree is killed. <see cref="CommandLauncher"/> starts the process so that
/// it also ends when the host is killed.
/// </summary>
internal sealed class CommandTask
{
    /// <summary>How many trailing lines of standard error a failure message carries.</summary>
    public const int StderrLinesInError = 5;

    private static readonly TimeSpan KilledExitWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan OutputDrainWait = TimeSpan.FromSeconds(2);

    private CommandTask(string name, string path, string? shellCommand, IReadOnlyList<string>? argv, string? workingDirectory,
        IReadOnlyDictionary<string, string> environment)
    {
        Name = name;
        Path = path;
        ShellCommand = shellCommand;
        Argv = argv;
        WorkingDirectory = workingDirectory;
        Environment = environment;
    }

    public string Name { get; }

    /// <summary>The entry's full path, e.g. actor-scheduler.tasks.backup.</summary>
    public string Path { get; }

    /// <summary>The command string run under /bin/sh -c, or null for a list command.</summary>
    public string? ShellCommand { get; }

    /// <summary>[program, args...] run without a shell, or null for a string command.</summary>
    public IReadOnlyList<string>? Argv { get; }

    /// <summary>The working directory (absolute), or null for the host's own.</summary>
    public string? WorkingDirectory { get; }

    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>The command as one line, for listings and logs.</summary>
    public string Display => ShellCommand ?? string.Join(' ', Argv!.Select(a => a.Contains(' ') ? $"\"{a}\"" : a));

    /// <summary>Reads the command keys of <paramref name="entry"/>; relative paths resolve against <paramref name="baseDirectory"/>.</summary>
    /// <exception cref="PeriodicTaskConfigurationException">a bad command, working-directory or environment value.</exception>
    public static CommandTask Read(TaskOverride entry, string baseDirectory)
    {
        var config = entry.Config;
        var commandPath = entry.Path + ".command";
        var command = config.GetValue("command");
        string? shell = null;
        List<string>? argv = null;
        if (PluginLoader.ArrayOrNull(command) is { } items)
        {
            argv = [];
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                if (item.IsObject() || item.IsArray() || string.IsNullOrEmpty(item.GetString()))
                    throw new PeriodicTaskConfigurationException(
                        $"{commandPath}[{i}]", "must be a non-empty string (a list command is [program, args...]).");
                argv.Add(item.GetString());
            }

            if (argv.Count == 0)
                throw new PeriodicTaskConfigurationException(commandPath, "must be a non-empty string or a list [program, args...]; got [].");
        }
        else
        {
            shell = command.GetString();
            if (string.IsNullOrWhiteSpace(shell))
                throw new PeriodicTaskConfigurationException(commandPath, "must be a non-empty string or a list [program, args...].");
        }

        string? workingDirectory = null;
        if (config.HasPath("working-directory") && !IsNull(config.GetValue("working-directory")))
        {
            var value = config.GetValue("working-directory");
            if (value.IsObject() || value.IsArray() || string.IsNullOrWhiteSpace(value.GetString()))
                throw new PeriodicTaskConfigurationException(entry.Path + ".working-directory", "must be a directory path (a string).");
            workingDirectory = System.IO.Path.GetFullPath(value.GetString(), baseDirectory);
            if (!Directory.Exists(workingDirectory))
                throw new PeriodicTaskConfigurationException(
                    entry.Path + ".working-directory", $"directory \"{value.GetString()}\" does not exist ({workingDirectory}).");
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (config.HasPath("environment") && !IsNull(config.GetValue("environment")))
        {
            foreach (var (key, value) in config.GetValue("environment").GetObject().Items)
            {
                if (value.IsObject() || value.IsArray())
                    throw new PeriodicTaskConfigurationException(
                        $"{entry.Path}.environment.{key}",
                        "must be a string or number (quote names that contain dots: \"A.B\" = value).");
                if (key.Length == 0 || key.Contains('='))
                    throw new PeriodicTaskConfigurationException($"{entry.Path}.environment.{key}", "is not a valid environment variable name.");
                environment[key] = value.GetString() ?? "";
            }
        }

        return new CommandTask(entry.Name, entry.Path, shell, argv, workingDirectory, environment);
    }

    /// <summary>True when <paramref name="other"/> runs the same command the same way (program, arguments, folder, environment).</summary>
    public bool SameAs(CommandTask other) =>
        ShellCommand == other.ShellCommand
        && (Argv ?? []).SequenceEqual(other.Argv ?? [])
        && WorkingDirectory == other.WorkingDirectory
        && Environment.Count == other.Environment.Count
        && Environment.All(e => other.Environment.TryGetValue(e.Key, out var value) && value == e.Value);

    /// <summary>The task definition: its options come from the entry (applied by the library as overrides).</summary>
    internal PeriodicTaskDefinition ToDefinition() =>
        new(Name, PeriodicTaskOptions.Default, RunAsync, $"command task {Path}");

    /// <summary>One run: starts the command, waits for it, and fails the run on a non-zero exit code.</summary>
    public async ValueTask RunAsync(PeriodicTaskContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var start = StartInfo(context);
        var launcher = CommandLauncher.Shared;
        CommandProcess started;
        try
        {
            started = launcher.Start(start, cancellationToken);
        }
        catch (Win32Exception e)
        {
            throw new CommandFailedException($"cannot start '{start.FileName}': {e.Message}");
        }

        using var process = started;
        RunningProcesses.Add(process);
        try
        {
            var log = context.Log;
            var debug = log.IsDebugEnabled;
            Action<string>? logOut = debug ? line => log.Debug("stdout: {0}", line) : null;
            Action<string>? logErr = debug ? line => log.Debug("stderr: {0}", line) : null;
            var stdout = new BoundedLines(0, logOut);
            var stderr = new BoundedLines(StderrLinesInError, logErr);
            var pumps = Task.WhenAll(stdout.PumpAsync(process.StandardOutput), stderr.PumpAsync(process.StandardError));

            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.KillTree();
                using var wait = new CancellationTokenSource(KilledExitWait);
                try
                {
                    await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Reported below; the process is left to the operating system.
                }

                throw;
            }

            // A background child that inherited the pipes could keep them open after the command exits: do not wait for it.
            await Task.WhenAny(pumps, Task.Delay(OutputDrainWait, CancellationToken.None)).ConfigureAwait(false);
            var code = process.ExitCode;
            if (code == ChildReaper.UnknownExit)
                throw new CommandFailedException("its exit status was reaped elsewhere in the host, and is unknown");
            if (code != 0)
            {
                var tail = stderr.Last;
                throw new CommandFailedException(
                    tail.Count == 0 ? $"exit code {code}" : $"exit code {code}: {string.Join(" | ", tail)}", code);
            }
        }
        finally
        {
            RunningProcesses.Remove(process);
            launcher.Ended(process);
        }
    }

    private ProcessStartInfo StartInfo(PeriodicTaskContext context)
    {
        var start = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true, // closed at once (Process.Start; posix_spawn gives /dev/null)
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        if (ShellCommand is not null)
        {
            start.FileName = CommandLauncher.Shell;
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(ShellCommand);
        }
        else
        {
            start.FileName = Argv![0];
            foreach (var arg in Argv.Skip(1))
                start.ArgumentList.Add(arg);
        }

        if (WorkingDirectory is not null)
            start.WorkingDirectory = WorkingDirectory;
        foreach (var (key, value) in Environment)
            start.Environment[key] = value;
        start.Environment["ACTOR_SCHEDULER_TASK"] = context.TaskName;
        start.Environment["ACTOR_SCHEDULER_TICK"] = context.Tick.ToString(CultureInfo.InvariantCulture);
        start.Environment["ACTOR_SCHEDULER_SCHEDULED_AT"] =
            context.ScheduledAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return start;
    }

    private static bool IsNull(HoconValue value) =>
        value is null || value.IsEmpty || (value.IsString() && value.GetString() is null or "null");
}

/// <summary>The command processes in flight, so that the host can kill any left when it exits.</summary>
internal static class RunningProcesses
{
    private static readonly HashSet<CommandProcess> Processes = [];

    public static int Count
    {
        get
        {
            lock (Processes)
                return Processes.Count;
        }
    }

    internal static void Add(CommandProcess process)
    {
        lock (Processes)
            Processes.Add(process);
    }

    internal static void Remove(CommandProcess process)
    {
        lock (Processes)
            Processes.Remove(process);
    }

    /// <summary>Kills the process tree of every command still running.</summary>
    public static void KillAll()
    {
        List<CommandProcess> left;
        lock (Processes)
            left = Processes.ToList();
        foreach (var process in left)
            process.KillTree();
    }
}
