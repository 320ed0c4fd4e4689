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
            await Task.Delay(TimeSpan.FromSeconds(1));

            Assert.True(direct!.WaitForExit(TimeSpan.FromSeconds(5)), "the process forked by the ended thread still runs");
            Assert.False(launched!.HasExited, "the launcher's process ended with the thread that asked for it");
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
    public async Task Starts_cancelled_while_they_wait_for_the_launcher_thread_are_not_made()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var launcher = CommandLauncher.Shared;
        Assert.True(launcher.EndsWithHost, launcher.Unavailable);
        var mark = Guid.NewGuid().ToString("N");
        using var cancel = new CancellationTokenSource();
        var starts = new List<Task<Process>>();
        for (var i = 0; i < 200; i++)
            starts.Add(launcher.StartAsync(MarkedSleep(mark), cancel.Token));

        // Queued within milliseconds; the one launcher thread takes a few milliseconds a start: nearly all still wait.
        await cancel.CancelAsync();
        await Task.WhenAll(starts).ContinueWith(_ => { }, TaskScheduler.Default);
        var made = starts.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result).ToList();
        try
        {
            Assert.All(starts, t => Assert.True(t.IsCompletedSuccessfully || t.IsCanceled, t.Exception?.ToString()));
            Assert.True(made.Count < 50, $"{made.Count} of 200 processes were started after their starts were cancelled");
            Assert.InRange(Processes.Marked(mark).Count, made.Count, made.Count); // none started behind the caller's back
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
