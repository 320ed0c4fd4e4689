using System.Diagnostics;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Host.Tasks;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// The few pieces worth checking without a process: bounded output capture, bracket checking, include forms, and the
/// thread that command processes are forked from.
/// </summary>
public class InProcessTests
{
    [Fact]
    public async Task Output_capture_keeps_only_the_last_lines_and_cuts_long_ones()
    {
        var lines = new BoundedLines(keep: 3, onLine: null);
        var text = string.Join("\n", Enumerable.Range(1, 100_000).Select(i => $"line {i}")) + "\n" + new string('x', 50_000);

        await lines.PumpAsync(new StringReader(text));

        Assert.Equal(100_001, lines.LineCount);
        Assert.Equal(["line 99999", "line 100000", new string('x', BoundedLines.MaxLineLength) + " [...]"], lines.Last);
    }

    [Theory]
    [InlineData("a { b = \"}\" } # }", null)]
    [InlineData("a { b = [1, 2] }\n// {", null)]
    [InlineData("a = \"\"\"{ multi\nline\"\"\"\nb { }", null)]
    [InlineData("a {\n b = [1, 2}\n}", 2)]
    [InlineData("a {\n\n", 1)]
    public void Bracket_check_ignores_strings_and_comments_and_names_the_line(string text, int? line)
    {
        Assert.Equal(line, ConfigLoader.UnbalancedBracket(text)?.Line);
    }

    [Theory]
    [InlineData("include required(\"a.conf\")\nb = 1", "include \"a.conf\"\nb = 1")]
    [InlineData("x {\n  include file( \"a.conf\" )\n}", "x {\n  include \"a.conf\"\n}")]
    [InlineData("command = \"include file(\\\"a.conf\\\")\"", "command = \"include file(\\\"a.conf\\\")\"")]
    [InlineData("# include file(\"a.conf\")\ninclude \"b.conf\"", "# include file(\"a.conf\")\ninclude \"b.conf\"")]
    public void Required_and_file_includes_become_plain_ones_on_their_line_and_strings_and_comments_are_left_alone(string text, string expected)
    {
        Assert.Equal(expected, ConfigLoader.PlainIncludes(text, "test.conf"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_command_starts_only_while_its_parent_is_still_the_host_that_forked_it(bool parentAlive)
    {
        if (!OperatingSystem.IsLinux())
            return;
        // As if the host had died before setpriv armed the parent-death signal: the command's parent is another process.
        var host = parentAlive ? Environment.ProcessId : 1;
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in (string[])["-c", CommandLauncher.ParentCheck, "sh", host.ToString(System.Globalization.CultureInfo.InvariantCulture), "/bin/echo", "ran"])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(parentAlive ? (0, "ran\n") : (137, ""), (process.ExitCode, output));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_command_string_runs_in_the_checking_shell_without_positional_parameters_only_while_its_parent_is_the_host(bool parentAlive)
    {
        if (!OperatingSystem.IsLinux())
            return;
        var host = parentAlive ? Environment.ProcessId : 1;
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in (string[])["-c", CommandLauncher.ShellCheck, "sh", host.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "echo \"$# args\" | tr a-z A-Z; exit 3"])
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(parentAlive ? (3, "0 ARGS\n") : (137, ""), (process.ExitCode, output));
    }

    [Fact]
    public async Task A_command_started_from_a_thread_that_then_ends_runs_on_while_one_forked_by_that_thread_under_pdeathsig_dies()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var launcher = CommandLauncher.Shared;
        Assert.True(launcher.EndsWithHost, launcher.Unavailable);
        var mark = Guid.NewGuid().ToString("N");
        Process? launched = null, direct = null;
        var thread = new Thread(() =>
        {
            launched = launcher.StartAsync(MarkedSleep(mark)).GetAwaiter().GetResult();
            // The same wrapper, forked by this thread: PR_SET_PDEATHSIG fires when the forking thread ends.
            var plain = new ProcessStartInfo("setpriv") { UseShellExecute = false };
            foreach (var arg in (string[])["--pdeathsig", "KILL", "--", "sleep", "30"])
                plain.ArgumentList.Add(arg);
            plain.Environment[Processes.MarkVariable] = mark;
            direct = Process.Start(plain);
            // setpriv asks for the signal before it runs sleep: end the thread only once it has (else nothing is armed).
            for (var i = 0; i < 500 && !IsSleep(direct!.Id); i++)
                Thread.Sleep(10);
        });
        thread.Start();
        thread.Join();
        try
        {
            Assert.True(direct!.WaitForExit(TimeSpan.FromSeconds(30)), "the process forked by the ended thread still runs");
            // The thread's end sent its parent-death signals at once: the launcher's process, had it been forked by that
            // thread, would now be dead or have SIGKILL pending.
            Assert.True(HostProcess.IsAlive(launched!.Id) && !KillPending(launched.Id),
                "the launcher's process ended (or is being killed) with the thread that asked for it");
            Assert.Single(Processes.Marked(mark));
        }
        finally
        {
            CommandTask.KillTree(launched!);
            launcher.Ended(launched!);
            launched!.Dispose();
            direct?.Dispose();
        }
    }

    [Fact]
    public async Task Starts_go_on_in_parallel_and_those_cancelled_while_they_wait_for_a_launcher_thread_are_not_made()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var launcher = CommandLauncher.Shared;
        Assert.True(launcher.EndsWithHost, launcher.Unavailable);
        Assert.True(CommandLauncher.Threads >= 2, $"{CommandLauncher.Threads} launcher threads");
        var mark = Guid.NewGuid().ToString("N");
        using var cancel = new CancellationTokenSource();
        var first = new List<Task<Process>>();
        var waiting = new List<Task<Process>>();
        // A launcher thread takes the watchdog's gate after each start: holding it keeps each thread on its first start
        // (they are forked side by side, none waiting for another), so the starts queued behind them are cancelled while
        // they wait, whatever the machine's load.
        using (var gate = new HeldGate(WatchdogGate(launcher)))
        {
            for (var i = 0; i < CommandLauncher.Threads; i++)
                first.Add(launcher.StartAsync(MarkedSleep(mark)));
            await WaitUntilAsync(() => Processes.Marked(mark).Count == CommandLauncher.Threads, "every launcher thread forked one start");
            for (var i = 0; i < 10; i++)
                waiting.Add(launcher.StartAsync(MarkedSleep(mark), cancel.Token));
            await cancel.CancelAsync();
        }

        await Task.WhenAll(waiting.Concat(first)).ContinueWith(_ => { }, TaskScheduler.Default);
        var made = waiting.Concat(first).Where(t => t.IsCompletedSuccessfully).Select(t => t.Result).ToList();
        try
        {
            Assert.All(first, t => Assert.True(t.IsCompletedSuccessfully, t.Exception?.ToString()));
            Assert.All(waiting, t => Assert.True(t.IsCanceled, t.IsCompletedSuccessfully ? $"started process {t.Result.Id} after its start was cancelled" : t.Exception?.ToString()));
            Assert.Equal(CommandLauncher.Threads, Processes.Marked(mark).Count); // none started behind the caller's back
        }
        finally
        {
            foreach (var process in made)
            {
                CommandTask.KillTree(process);
                launcher.Ended(process);
                process.Dispose();
            }
        }
    }

    /// <summary>The launcher's watchdog gate, which its thread takes after every start.</summary>
    private static Lock WatchdogGate(CommandLauncher launcher) =>
        typeof(CommandLauncher).GetField("_watchdogGate", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)
            ?.GetValue(launcher) as Lock
        ?? throw new InvalidOperationException("CommandLauncher has no Lock field _watchdogGate any more: update this test's gate");

    /// <summary>Holds a <see cref="Lock"/> on a thread of its own (a Lock is released by the thread that took it) until disposed.</summary>
    private sealed class HeldGate : IDisposable
    {
        private readonly ManualResetEventSlim _release = new();
        private readonly Thread _holder;

        public HeldGate(Lock gate)
        {
            using var held = new ManualResetEventSlim();
            _holder = new Thread(() =>
            {
                using (gate.EnterScope())
                {
                    held.Set();
                    _release.Wait();
                }
            }) { IsBackground = true };
            _holder.Start();
            held.Wait();
        }

        public void Dispose()
        {
            _release.Set();
            _holder.Join();
            _release.Dispose();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not within 30 s: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>True when process <paramref name="pid"/> has SIGKILL pending (sent, not yet acted on).</summary>
    private static bool KillPending(int pid)
    {
        try
        {
            return File.ReadLines($"/proc/{pid}/status")
                .Where(l => l.StartsWith("SigPnd:", StringComparison.Ordinal) || l.StartsWith("ShdPnd:", StringComparison.Ordinal))
                .Any(l => (ulong.Parse(l[7..].Trim(), System.Globalization.NumberStyles.HexNumber, null) & (1UL << (9 - 1))) != 0);
        }
        catch (IOException)
        {
            return false; // gone: IsAlive says so
        }
    }

    /// <summary><c>sleep 30</c>, with <paramref name="mark"/> in its environment so that <see cref="Processes.Marked"/> finds it.</summary>
    private static ProcessStartInfo MarkedSleep(string mark)
    {
        var start = new ProcessStartInfo("sleep") { UseShellExecute = false };
        start.ArgumentList.Add("30");
        start.Environment[Processes.MarkVariable] = mark;
        return start;
    }

    /// <summary>True once process <paramref name="pid"/> runs sleep (setpriv has exec'd it).</summary>
    private static bool IsSleep(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").StartsWith("sleep", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
