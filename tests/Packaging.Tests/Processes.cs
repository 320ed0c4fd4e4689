using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace ActorScheduler.Packaging.Tests;

/// <summary>What a finished process left: its exit code and output.</summary>
public sealed record ProcessResult(string Command, int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public string Output => Stdout + Stderr;

    public override string ToString() =>
        $"{Command}\nexit {ExitCode} after {Elapsed.TotalSeconds:0.0} s\nstdout:\n{Tail(Stdout)}\nstderr:\n{Tail(Stderr)}";

    private static string Tail(string text) => text.Length <= 12_000 ? text : "...\n" + text[^12_000..];
}

/// <summary>A child process (dotnet, the installed tool, a sample) with its output captured and a bounded lifetime.</summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    static ChildProcess()
    {
        // A test run started in the background by a non-interactive shell has SIGINT ignored, and its children inherit
        // that: give them the default disposition back so that a sample can be stopped with SIGINT.
        if (OperatingSystem.IsLinux() && SigIntIgnored())
            Native.signal(SigInt, IntPtr.Zero);
    }

    private ChildProcess(Process process, string command)
    {
        _process = process;
        Command = command;
    }

    public string Command { get; }

    public string Stdout
    {
        get
        {
            lock (_stdout)
                return _stdout.ToString();
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString();
        }
    }

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The environment every child gets: no telemetry or logo, and no MSBuild or compiler servers left behind.</summary>
    public static readonly IReadOnlyDictionary<string, string> QuietDotnet = new Dictionary<string, string>
    {
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
        ["MSBUILDDISABLENODEREUSE"] = "1",
        ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        ["UseSharedCompilation"] = "false",
    };

    public static ChildProcess Start(string fileName, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
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
        foreach (var (key, value) in QuietDotnet)
            start.Environment[key] = value;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;

        var command = fileName + " " + string.Join(' ', start.ArgumentList);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(process, command);
        process.OutputDataReceived += (_, e) => Append(child._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(child._stderr, e.Data);
        process.Exited += (_, _) => child._exited.TrySetResult();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a process to its end; kills it (and its children) and fails when it takes longer than <paramref name="timeout"/>.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> args, string workingDirectory,
        TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var child = Start(fileName, args, workingDirectory, environment);
        await child.WaitForExitAsync(timeout);
        return child.Result();
    }

    /// <summary>Waits for the exit; kills the process tree and throws with the output so far after <paramref name="timeout"/>.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        if (await Task.WhenAny(_exited.Task, Task.Delay(timeout)) != _exited.Task)
        {
            Kill();
            throw new TimeoutException($"not finished within {timeout.TotalSeconds:0} s (killed): {Command}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }

        _process.WaitForExit(10_000); // the rest of the redirected output
    }

    /// <summary>Polls <paramref name="condition"/>; fails with the output when the process exits first or after <paramref name="timeout"/>.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (HasExited)
            {
                _process.WaitForExit(10_000);
                throw new Xunit.Sdk.XunitException($"exited (code {_process.ExitCode}) before: {what}: {Command}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            }

            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not within {timeout.TotalSeconds:0} s: {what}: {Command}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            await Task.Delay(100);
        }
    }

    /// <summary>Sends SIGINT, as Ctrl+C does (Linux and macOS); the caller waits for the exit.</summary>
    public void Interrupt()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            throw new PlatformNotSupportedException("SIGINT needs Linux or macOS");
        if (Native.kill(_process.Id, SigInt) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, SIGINT) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Asks the process to stop as Ctrl+C does; kills it when it has not exited after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (HasExited)
            return;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            Native.kill(_process.Id, SigInt);
        if (await Task.WhenAny(_exited.Task, Task.Delay(grace)) != _exited.Task)
            Kill();
        _process.WaitForExit(10_000);
    }

    public ProcessResult Result() => new(Command, HasExited ? _process.ExitCode : -1, Stdout, Stderr, _clock.Elapsed);

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is null)
            return;
        lock (buffer)
            buffer.AppendLine(line);
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
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

    private const int SigInt = 2;

    private static bool SigIntIgnored()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null
               && ulong.TryParse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, null, out var mask)
               && (mask & (1UL << (SigInt - 1))) != 0;
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int sig);

        [DllImport("libc")]
        public static extern IntPtr signal(int signum, IntPtr handler);
    }
}
