using System.Diagnostics;
using System.Text;

namespace ActorScheduler.Testing.Support;

/// <summary>How <see cref="CapturedProcess.WaitUntilAsync"/> ended.</summary>
internal enum WaitOutcome
{
    /// <summary>The condition held.</summary>
    Held,

    /// <summary>The process exited first (its output is read to the end).</summary>
    Exited,

    /// <summary>Neither within the time given.</summary>
    TimedOut,
}

/// <summary>
/// A child process with its standard input closed and its standard output and error captured line by line: each stream
/// on its own and both in the order the lines came. Disposing it kills the process and its descendants.
/// </summary>
internal sealed class CapturedProcess : IDisposable
{
    private readonly Process _process;
    private readonly TimeSpan? _outputDrain;
    private readonly object _gate = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _output = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private CapturedProcess(Process process, string command, TimeSpan? outputDrain)
    {
        _process = process;
        Command = command;
        _outputDrain = outputDrain;
    }

    /// <summary>The program and its arguments, separated by spaces (for messages).</summary>
    public string Command { get; }

    public int Id => _process.Id;

    /// <summary>The exit code; only once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The time since the start.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    public string Stdout
    {
        get
        {
            lock (_gate)
                return _stdout.ToString();
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
                return _stderr.ToString();
        }
    }

    /// <summary>Standard output and error together, each line where it came.</summary>
    public string Output
    {
        get
        {
            lock (_gate)
                return _output.ToString();
        }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="args"/> in <paramref name="workingDirectory"/>, the
    /// <paramref name="environment"/> variables set in their order over the inherited ones. After the exit, the rest of
    /// the output is waited for at most <paramref name="outputDrain"/> (null: as long as it takes).
    /// </summary>
    public static CapturedProcess Start(string fileName, IEnumerable<string> args, string workingDirectory,
        IEnumerable<KeyValuePair<string, string>>? environment = null, TimeSpan? outputDrain = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? [])
            start.Environment[key] = value;

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var captured = new CapturedProcess(process, fileName + " " + string.Join(' ', start.ArgumentList), outputDrain);
        process.OutputDataReceived += (_, e) => captured.Append(captured._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => captured.Append(captured._stderr, e.Data);
        process.Exited += (_, _) => captured._exited.TrySetResult();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return captured;
    }

    /// <summary>Waits for the exit and the rest of the output; false, with the process tree killed, after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        if (await Task.WhenAny(_exited.Task, Task.Delay(timeout)) != _exited.Task)
        {
            Kill();
            return false;
        }

        DrainOutput();
        return true;
    }

    /// <summary>Polls <paramref name="condition"/> every <paramref name="poll"/> until it holds, the process exits or <paramref name="timeout"/> passes.</summary>
    public async Task<WaitOutcome> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, TimeSpan poll)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (HasExited)
            {
                DrainOutput();
                return WaitOutcome.Exited;
            }

            if (DateTime.UtcNow > deadline)
                return WaitOutcome.TimedOut;
            await Task.Delay(poll);
        }

        return WaitOutcome.Held;
    }

    /// <summary>Sends a POSIX signal (<see cref="Signals"/>: SIGHUP, SIGINT, SIGTERM, SIGKILL); throws when kill(2) fails.</summary>
    public void Signal(int signal) => Signals.Send(Id, signal);

    /// <summary>
    /// Asks the process to stop as Ctrl+C does (SIGINT, Linux and macOS), kills its tree when it has not exited after
    /// <paramref name="grace"/>, and waits for the rest of the output.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (HasExited)
            return;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            Signals.TrySend(Id, Signals.SigInt);
        if (await Task.WhenAny(_exited.Task, Task.Delay(grace)) != _exited.Task)
            Kill();
        DrainOutput();
    }

    /// <summary>SIGKILL, to the process and its descendants or to the process alone; nothing when it has exited.</summary>
    public void Kill(bool entireProcessTree = true)
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree);
        }
        catch (InvalidOperationException)
        {
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void DrainOutput()
    {
        if (_outputDrain is { } bound)
            _process.WaitForExit(bound);
        else
            _process.WaitForExit();
    }

    private void Append(StringBuilder stream, string? line)
    {
        if (line is null)
            return;
        lock (_gate)
        {
            stream.AppendLine(line);
            _output.AppendLine(line);
        }
    }
}
