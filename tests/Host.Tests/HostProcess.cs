using ActorScheduler.Testing.Support;

namespace ActorScheduler.Host.Tests;

/// <summary>The built host, run as the operator runs it: <c>dotnet actor-scheduler.dll ARGS</c> in its own process.</summary>
public sealed class HostProcess : IDisposable
{
    private readonly CapturedProcess _process;

    static HostProcess()
    {
        // The hosts are stopped with SIGINT, as by Ctrl+C: even when this test run has SIGINT ignored.
        Signals.DefaultSigIntForChildren();
    }

    private HostProcess(CapturedProcess process)
    {
        _process = process;
    }

    /// <summary>Debug or Release: the configuration this test assembly was built in (the host was built with it).</summary>
    private static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    /// <summary>The repository's root folder.</summary>
    public static string RepoPath => Repository.Root;

    public static string HostDll => Path.Combine(Repository.Root, "src", "Host", "bin", Configuration, "net10.0", "actor-scheduler.dll");

    public static string SampleTasksDll =>
        Path.Combine(Repository.Root, "tests", "SampleTasks", "bin", Configuration, "net10.0", "SampleTasks.dll");

    public int Id => _process.Id;

    public string Stdout => _process.Stdout;

    public string Stderr => _process.Stderr;

    public static HostProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        new(CapturedProcess.Start("dotnet", [HostDll, .. args], workingDirectory,
            (environment ?? new Dictionary<string, string>()).Append(KeyValuePair.Create("DOTNET_NOLOGO", "1"))));

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
    public bool HasExited => _process.HasExited;

    /// <summary>Polls <paramref name="condition"/>; fails with the output when the host exits first or after <paramref name="timeout"/> (default 20 s).</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        switch (await _process.WaitUntilAsync(condition, limit, TimeSpan.FromMilliseconds(50)))
        {
            case WaitOutcome.Exited:
                throw new Xunit.Sdk.XunitException(
                    $"the host exited (code {_process.ExitCode}) before: {what}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            case WaitOutcome.TimedOut:
                throw new TimeoutException($"not within {limit.TotalSeconds} s: {what}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
    }

    /// <summary>Waits for the exit code; kills the process tree and fails when it does not come in time.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        if (!await _process.WaitForExitAsync(timeout))
            throw new TimeoutException($"the host did not exit within {timeout}.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        return _process.ExitCode;
    }

    /// <summary>Sends a POSIX signal (SIGHUP = 1, SIGINT = 2, SIGTERM = 15) to the host, as Ctrl+C or a service manager would.</summary>
    public void Signal(int signal) => _process.Signal(signal);

    public const int SigHup = Signals.SigHup;
    public const int SigInt = Signals.SigInt;
    public const int SigTerm = Signals.SigTerm;

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

    public void Dispose() => _process.Dispose();
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
