using ActorScheduler.Host.Configuration;
using ActorScheduler.Host.Tasks;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>The few pieces worth checking without a process: bounded output capture, bracket checking and include forms.</summary>
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
}
