using ActorScheduler.Testing.Support;

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
    /// <summary>How long the rest of the output is waited for after the exit.</summary>
    private static readonly TimeSpan OutputDrain = TimeSpan.FromSeconds(10);

    private readonly CapturedProcess _process;

    static ChildProcess()
    {
        // So that a sample can be stopped with SIGINT, even when this test run has SIGINT ignored.
        Signals.DefaultSigIntForChildren();
    }

    private ChildProcess(CapturedProcess process)
    {
        _process = process;
    }

    public string Command => _process.Command;

    public string Stdout => _process.Stdout;

    public string Stderr => _process.Stderr;

    public bool HasExited => _process.HasExited;

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
        IReadOnlyDictionary<string, string>? environment = null) =>
        new(CapturedProcess.Start(fileName, args, workingDirectory,
            QuietDotnet.Concat(environment ?? new Dictionary<string, string>()), OutputDrain));

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
        if (!await _process.WaitForExitAsync(timeout))
            throw new TimeoutException($"not finished within {timeout.TotalSeconds:0} s (killed): {Command}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    /// <summary>Polls <paramref name="condition"/>; fails with the output when the process exits first or after <paramref name="timeout"/>.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan timeout)
    {
        switch (await _process.WaitUntilAsync(condition, timeout, TimeSpan.FromMilliseconds(100)))
        {
            case WaitOutcome.Exited:
                throw new Xunit.Sdk.XunitException($"exited (code {_process.ExitCode}) before: {what}: {Command}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            case WaitOutcome.TimedOut:
                throw new TimeoutException($"not within {timeout.TotalSeconds:0} s: {what}: {Command}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
    }

    /// <summary>Sends SIGINT, as Ctrl+C does (Linux and macOS); the caller waits for the exit.</summary>
    public void Interrupt()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            throw new PlatformNotSupportedException("SIGINT needs Linux or macOS");
        Signals.Send(_process.Id, Signals.SigInt, "SIGINT");
    }

    /// <summary>Asks the process to stop as Ctrl+C does; kills it when it has not exited after <paramref name="grace"/>.</summary>
    public Task StopAsync(TimeSpan grace) => _process.StopAsync(grace);

    public ProcessResult Result() => new(Command, HasExited ? _process.ExitCode : -1, Stdout, Stderr, _process.Elapsed);

    public void Dispose() => _process.Dispose();
}
