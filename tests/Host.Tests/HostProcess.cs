using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace ActorScheduler.Host.Tests;

/// <summary>The built host, run as the operator runs it: <c>dotnet actor-scheduler.dll ARGS</c> in its own process.</summary>
public sealed class HostProcess : IDisposable
{
    private static readonly Lazy<string> RepoRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ActorScheduler.sln")))
                return dir.FullName;
        throw new InvalidOperationException("ActorScheduler.sln not found above " + AppContext.BaseDirectory);
    });

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    static HostProcess()
    {
        // A test run started in the background by a non-interactive shell inherits SIGINT as ignored, every child
        // inherits that, and .NET keeps an ignored SIGINT ignored: the host could never see Ctrl+C. Give the hosts the
        // default disposition back (only when it is ignored here, so the test runner's own handler is left alone).
        if (OperatingSystem.IsLinux() && SignalIgnored(SigInt))
            Native.signal(SigInt, IntPtr.Zero /* SIG_DFL */);
    }

    private HostProcess(Process process)
    {
        _process = process;
    }

    private static bool SignalIgnored(int signal)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null
               && ulong.TryParse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, null, out var mask)
               && (mask & (1UL << (signal - 1))) != 0;
    }

    /// <summary>Debug or Release: the configuration this test assembly was built in (the host was built with it).</summary>
    private static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    /// <summary>The repository's root folder.</summary>
    public static string RepoPath => RepoRoot.Value;

    public static string HostDll => Path.Combine(RepoRoot.Value, "src", "Host", "bin", Configuration, "net10.0", "actor-scheduler.dll");

    public static string SampleTasksDll =>
        Path.Combine(RepoRoot.Value, "tests", "SampleTasks", "bin", Configuration, "net10.0", "SampleTasks.dll");

    public int Id => _process.Id;

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

    public static HostProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(HostDll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        start.Environment["DOTNET_NOLOGO"] = "1";

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var host = new HostProcess(process);
        process.OutputDataReceived += (_, e) => host.Append(host._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(host._stderr, e.Data);
        process.Exited += (_, _) => host._exited.TrySetResult();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Runs the host to its end (killed after <paramref name="timeout"/>, default 30 s).</summary>
    public static async Task<HostResult> RunAsync(string workingDirectory, string[] args,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        using var host = Start(workingDirectory, environment, args);
        var code = await host.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(30));
        return new HostResult(code, host.Stdout, host.Stderr);
    }

    /// <summary>
    /// Runs the host until <paramref name="done"/> holds (at most 20 s), then stops it with SIGINT as an operator would
    /// and waits for its exit: a run that ends on what happened rather than after a fixed time.
    /// </summary>
    public static async Task<HostResult> RunUntilAsync(string workingDirectory, string[] args, Func<HostProcess, bool> done,
        string what, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var host = Start(workingDirectory, environment, args);
        await host.WaitUntilAsync(() => done(host), what);
        host.Signal(SigInt);
        var code = await host.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return new HostResult(code, host.Stdout, host.Stderr);
    }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>Polls <paramref name="condition"/>; fails with the output when the host exits first or after <paramref name="timeout"/> (default 20 s).</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (HasExited)
            {
                _process.WaitForExit();
                throw new Xunit.Sdk.XunitException(
                    $"the host exited (code {_process.ExitCode}) before: {what}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            }

            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not within {limit.TotalSeconds} s: {what}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the exit code; kills the process tree and fails when it does not come in time.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        if (await Task.WhenAny(_exited.Task, Task.Delay(timeout)) != _exited.Task)
        {
            Kill();
            throw new TimeoutException($"the host did not exit within {timeout}.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }

        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>Sends a POSIX signal (SIGHUP = 1, SIGINT = 2, SIGTERM = 15) to the host, as Ctrl+C or a service manager would.</summary>
    public void Signal(int signal)
    {
        if (Native.kill(_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public const int SigHup = 1;
    public const int SigInt = 2;
    public const int SigTerm = 15;

    /// <summary>True when a process with this id exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
            return false;
        try
        {
            var text = File.ReadAllText(stat);
            var state = text[(text.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
    }

    private void Append(StringBuilder buffer, string? line)
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

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int sig);

        [DllImport("libc")]
        public static extern IntPtr signal(int signum, IntPtr handler);
    }
}

public sealed record HostResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>A task's counts in the summary table of <c>run</c>: runs, succeeded, failed, timed out, cancelled, overruns, missed.</summary>
    public SummaryCounts Summary(string task, bool onStandardError = false)
    {
        var text = onStandardError ? Stderr : Stdout;
        var row = System.Text.RegularExpressions.Regex.Match(text,
            $@"^{System.Text.RegularExpressions.Regex.Escape(task)}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s",
            System.Text.RegularExpressions.RegexOptions.Multiline);
        if (!row.Success)
            throw new Xunit.Sdk.XunitException($"no summary row for {task}\n{this}");
        long N(int i) => long.Parse(row.Groups[i].Value, System.Globalization.CultureInfo.InvariantCulture);
        return new SummaryCounts(N(1), N(2), N(3), N(4), N(5), N(6), N(7));
    }

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

public sealed record SummaryCounts(long Runs, long Succeeded, long Failed, long TimedOut, long Cancelled, long Overruns, long Missed);

/// <summary>A temporary directory for one test's files, deleted afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("actor-scheduler-host-tests-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="text"/> to <paramref name="name"/> and returns the full path.</summary>
    public string Write(string name, string text)
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
