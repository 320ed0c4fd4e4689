using System.Diagnostics;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Host.Tasks;
using ActorScheduler.Testing.Support;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// The few pieces worth checking without a host process: bounded output capture, bracket checking, include forms, and
/// how command processes are started, reaped and watched.
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

    [Fact]
    public async Task A_command_started_from_a_thread_that_then_ends_runs_on_leading_its_own_session_and_process_group()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var launcher = CommandLauncher.Shared;
        Assert.True(launcher.EndsWithHost, launcher.Unavailable);
        var mark = Guid.NewGuid().ToString("N");
        CommandProcess? launched = null;
        var thread = new Thread(() => launched = launcher.Start(MarkedSleep(mark)));
        thread.Start();
        thread.Join();
        try
        {
            await Task.Delay(200);
            Assert.False(launched!.HasExited, "the command ended with the thread that started it");
            Assert.True(launched.LeadsGroup);
            Assert.Equal((launched.Id, launched.Id), (Native.getpgid(launched.Id), Native.getsid(launched.Id)));
            Assert.Contains(Processes.Marked(mark), p => p.Pid == launched.Id);
        }
        finally
        {
            launched!.KillTree();
            launcher.Ended(launched);
        }

        await launched.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.Equal(128 + Signals.SigKill, launched.ExitCode); // reaped, with the signal that ended it
        launched.Dispose();
    }

    [Fact]
    public async Task Starts_from_many_threads_at_once_all_run_and_one_cancelled_before_it_is_made_starts_nothing()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var launcher = CommandLauncher.Shared;
        var mark = Guid.NewGuid().ToString("N");
        var started = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => launcher.Start(MarkedSleep(mark)))));
        try
        {
            Assert.Equal(20, started.Select(p => p.Id).Distinct().Count());
            await WaitUntilAsync(() => Processes.Marked(mark).Count == 20, "the 20 commands run");
            using var cancelled = new CancellationTokenSource();
            await cancelled.CancelAsync();
            Assert.Throws<OperationCanceledException>(() => launcher.Start(MarkedSleep(mark), cancelled.Token));
            Assert.Equal(20, Processes.Marked(mark).Count);
        }
        finally
        {
            foreach (var process in started)
            {
                process.KillTree();
                launcher.Ended(process);
            }
        }

        await WaitUntilAsync(() => started.All(p => p.HasExited), "the 20 commands were killed and reaped");
        Assert.All(started, p => Assert.Equal(128 + Signals.SigKill, p.ExitCode));
    }

    [Fact]
    public async Task A_command_gets_its_environment_and_folder_its_exit_code_and_output_and_a_missing_program_fails_its_start()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var launcher = CommandLauncher.Shared;
        var start = new ProcessStartInfo(CommandLauncher.Shell) { UseShellExecute = false, WorkingDirectory = "/tmp" };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("echo \"$WHO in $(pwd) as $0\"; echo oops >&2; read line; echo \"read $?\"; exit 7");
        start.Environment["WHO"] = "someone";
        using var process = launcher.Start(start);
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        launcher.Ended(process);

        Assert.Equal(("someone in /tmp as /bin/sh\nread 1\n", "oops\n", 7), (output, error, process.ExitCode)); // input: end of file at once
        var missing = Assert.Throws<System.ComponentModel.Win32Exception>(() => launcher.Start(new ProcessStartInfo("no-such-program-here")));
        Assert.Equal("No such file or directory", missing.Message);
    }

    [Fact]
    public async Task The_watchdog_at_its_hosts_end_kills_the_groups_it_was_told_of_and_every_process_carrying_the_hosts_id()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var mark = Guid.NewGuid().ToString("N");
        var hostId = $"{CommandLauncher.HostIdVariable}=test-{mark}";
        // A watchdog of its own (the launcher's lives as long as this process): its host's end is its input's end.
        var watchdogStart = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardInput = true };
        foreach (var arg in (string[])["-c", CommandLauncher.WatchdogScript, "watchdog", hostId])
            watchdogStart.ArgumentList.Add(arg);
        using var watchdog = Process.Start(watchdogStart)!;
        var told = Spawn(mark, "told", withHostId: null);
        var untold = Spawn(mark, "untold", hostId);
        var other = Spawn(mark, "other", withHostId: null);
        try
        {
            await watchdog.StandardInput.WriteLineAsync($"+ {told.Pid}");
            await WaitUntilAsync(() => Processes.Marked(mark).Count == 3, "the three sleeps run");
            watchdog.StandardInput.Close();
            await WaitUntilAsync(() => Processes.Marked(mark).Select(p => p.Pid).SequenceEqual([other.Pid]),
                "only the process the watchdog was not told of and that does not carry the host's id is left");
        }
        finally
        {
            foreach (var pid in new[] { told.Pid, untold.Pid, other.Pid })
                _ = Signals.TrySend(-pid, Signals.SigKill);
        }
    }

    [Theory]
    [InlineData("sleep 30", "sleep|30")]
    [InlineData("  ls\t-l  /tmp ", "ls|-l|/tmp")]
    [InlineData("true", null)] // dash's builtins run as the shell's own
    [InlineData("echo -e hi", null)]
    [InlineData("sleep 30 && true", null)]
    [InlineData("sleep $HOME", null)]
    [InlineData("ls *.conf", null)]
    [InlineData("A=1 env", null)]
    [InlineData("./run.sh", null)]
    [InlineData("no-such-program-here now", null)]
    [InlineData("sleep 'a b'", null)]
    public void A_command_string_of_plain_words_naming_a_program_runs_without_the_shell_and_anything_else_under_it(string command, string? argv)
    {
        if (!OperatingSystem.IsLinux())
            return;
        var plain = CommandLauncher.PlainWords(command, Environment.GetEnvironmentVariable("PATH"));

        Assert.Equal(argv, plain is { } p ? string.Join("|", p.Argv) : null);
        if (plain is { } found)
            Assert.Equal("/" + found.Argv[0], found.Program[found.Program.LastIndexOf('/')..]);
        Assert.Null(CommandLauncher.PlainWords("sleep 30", "")); // found on the command's PATH only, as the shell would
    }

    /// <summary><c>sleep 30</c> in a session of its own, marked, with the host id variable when given.</summary>
    private static PosixSpawn.Started Spawn(string mark, string name, string? withHostId)
    {
        string[] environment = [$"{Processes.MarkVariable}={mark}", $"WHICH={name}", $"PATH={Environment.GetEnvironmentVariable("PATH")}"];
        var started = PosixSpawn.Spawn("/bin/sh", ["/bin/sh", "-c", "exec sleep 30"], withHostId is null ? environment : [.. environment, withHostId], null,
            pipeOutput: false);
        _ = ChildReaper.Watch(started.Pid);
        return started;
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

    /// <summary><c>sleep 30</c>, with <paramref name="mark"/> in its environment so that <see cref="Processes.Marked"/> finds it.</summary>
    private static ProcessStartInfo MarkedSleep(string mark)
    {
        var start = new ProcessStartInfo("sleep") { UseShellExecute = false };
        start.ArgumentList.Add("30");
        start.Environment[Processes.MarkVariable] = mark;
        return start;
    }

    private static class Native
    {
        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int getpgid(int pid);

        [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
        public static extern int getsid(int pid);
    }
}
