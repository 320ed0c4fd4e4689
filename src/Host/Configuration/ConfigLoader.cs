using System.Text;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorScheduler.Host.Configuration;

/// <summary>Reads the host's configuration: a HOCON file given with --config, or the embedded demo (hocon/host.conf).</summary>
internal static partial class ConfigLoader
{
    public const string BuiltInSource = "built-in demo (hocon/host.conf)";
    public const string DemoSetName = "ComputeManager";
    private const string HostConfResource = "ActorScheduler.Host.host.conf";

    /// <summary>How deep includes may nest.</summary>
    private const int MaxIncludeDepth = 16;

    /// <summary>The text of the embedded demo configuration.</summary>
    public static string BuiltInText()
    {
        using var stream = typeof(ConfigLoader).Assembly.GetManifestResourceStream(HostConfResource)
            ?? throw new InvalidOperationException($"{HostConfResource} is not embedded in the host.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Loads <paramref name="path"/>, or the built-in demo when it is null.</summary>
    /// <exception cref="HostConfigurationException">the file is missing, unreadable or not valid HOCON.</exception>
    public static LoadedConfig Load(string? path)
    {
        if (path is null)
            return new LoadedConfig(Parse(BuiltInText(), BuiltInSource), BuiltInSource, Directory.GetCurrentDirectory(), DemoSetName, IsBuiltIn: true);

        if (string.IsNullOrWhiteSpace(path))
            throw new HostConfigurationException("--config: the file name is empty.");
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new HostConfigurationException($"{path}: is a directory, not a configuration file.");
        if (!File.Exists(full))
            throw new HostConfigurationException($"{path}: configuration file not found.");

        string text;
        try
        {
            text = File.ReadAllText(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HostConfigurationException($"{path}: cannot read the configuration file: {OneLine(e.Message)}");
        }

        return new LoadedConfig(Parse(text, path, Path.GetDirectoryName(full), full), path, Path.GetDirectoryName(full)!, SetNameOf(full), IsBuiltIn: false);
    }

    /// <summary>Parses HOCON text; a syntax error names <paramref name="source"/> and, when the parser gives it, the line.</summary>
    /// <param name="text">The HOCON text.</param>
    /// <param name="source">How errors name the text (the path as given).</param>
    /// <param name="includeDirectory">Where its includes are found (default: the current directory).</param>
    /// <param name="file">The text's file in full, so that an include of it is reported as a cycle.</param>
    public static Config Parse(string text, string source, string? includeDirectory = null, string? file = null)
    {
        // An empty file is a valid configuration with every default.
        return ParseChecked(text, source, checkedText => string.IsNullOrWhiteSpace(checkedText)
            ? Config.Empty
            : ConfigurationFactory.ParseString(checkedText, Includes(includeDirectory ?? Directory.GetCurrentDirectory(), source, 0, file is null ? [] : [file])));
    }

    /// <summary>
    /// Checks the brackets and rewrites the includes of <paramref name="text"/> (Akka's parser accepts some unbalanced
    /// braces silently), then parses it; every error names <paramref name="source"/> and, when known, the line.
    /// </summary>
    private static T ParseChecked<T>(string text, string source, Func<string, T> parse)
    {
        if (UnbalancedBracket(text) is { } bracket)
            throw new HostConfigurationException($"{source}: line {bracket.Line}: not valid HOCON: {bracket.Problem}");
        text = PlainIncludes(text, source);
        try
        {
            return parse(text);
        }
        catch (HostConfigurationException)
        {
            throw; // an included file's own error, which names that file
        }
        catch (Exception e)
        {
            var message = OneLine(e.Message);
            var line = LineOf(e, message) ?? LineOfPosition(text, message);
            throw new HostConfigurationException($"{source}: {(line is null ? "" : $"line {line}: ")}not valid HOCON: {message}");
        }
    }

    /// <summary>
    /// HOCON <c>include "file.conf"</c>: relative to the including file's folder. A missing or unreadable file, an include
    /// of a file that is already being included (a cycle) and nesting deeper than 16 levels are errors naming the files.
    /// </summary>
    private static Func<string, HoconRoot> Includes(string directory, string source, int depth, IReadOnlyList<string> chain) => name =>
    {
        var full = Path.GetFullPath(name, directory);
        var shown = Shown(full);
        if (chain.Contains(full, StringComparer.Ordinal))
            throw new HostConfigurationException(
                $"{source}: include \"{name}\": include cycle: {string.Join(" -> ", chain.Select(Shown).Append(shown))}.");
        if (depth >= MaxIncludeDepth)
            throw new HostConfigurationException($"{source}: include \"{name}\": includes nest more than {MaxIncludeDepth} levels.");
        if (Directory.Exists(full))
            throw new HostConfigurationException($"{source}: include \"{name}\": {shown} is a directory, not a configuration file.");
        if (!File.Exists(full))
            throw new HostConfigurationException($"{source}: include \"{name}\": file not found ({full}).");
        string text;
        try
        {
            text = File.ReadAllText(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HostConfigurationException($"{source}: include \"{name}\": cannot read {shown}: {OneLine(e.Message)}");
        }

        return ParseChecked(text, shown, checkedText => Parser.Parse(checkedText, Includes(Path.GetDirectoryName(full)!, shown, depth + 1, [.. chain, full])));
    };

    /// <summary>A file as error messages name it: relative to the current directory when it lies below it, else in full.</summary>
    private static string Shown(string full)
    {
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), full);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative;
    }

    /// <summary>The set name for a file: its name without extension when that is a valid actor name, else "host".</summary>
    public static string SetNameOf(string file)
    {
        var stem = Path.GetFileNameWithoutExtension(file);
        return !string.IsNullOrWhiteSpace(stem) && ActorPath.IsValidPathElement(stem) && !stem.StartsWith('$') ? stem : "host";
    }

    private static int? LineOf(Exception e, string message)
    {
        for (var error = e; error is not null; error = error.InnerException)
        {
            var match = LinePattern().Match(error.Message);
            if (match.Success && int.TryParse(match.Groups[1].Value, out var line))
                return line;
        }

        var again = LinePattern().Match(message);
        return again.Success && int.TryParse(again.Groups[1].Value, out var l) ? l : null;
    }

    /// <summary>
    /// The first bracket that does not match ('{' with '}', '[' with ']'), outside quoted strings and comments, or null.
    /// </summary>
    public static (int Line, string Problem)? UnbalancedBracket(string text)
    {
        var open = new Stack<(char Bracket, int Line)>();
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            if (SkipCommentOrString(text, ref i, ref line, out var problem))
            {
                if (problem is not null)
                    return problem;
                continue;
            }

            var c = text[i];
            switch (c)
            {
                case '\n':
                    line++;
                    break;
                case '{' or '[':
                    open.Push((c, line));
                    break;
                case '}' or ']':
                    var expected = c == '}' ? '{' : '[';
                    if (open.Count == 0)
                        return (line, $"'{c}' closes nothing.");
                    var (bracket, at) = open.Pop();
                    if (bracket != expected)
                        return (line, $"'{c}' does not close the '{bracket}' opened on line {at}.");
                    break;
            }
        }

        return open.Count > 0 ? (open.Peek().Line, $"'{open.Peek().Bracket}' opened on line {open.Peek().Line} is never closed.") : null;
    }

    /// <summary>
    /// When <paramref name="i"/> starts a comment or a quoted string, moves it to the last character of it (counting its
    /// lines) and returns true; <paramref name="problem"/> is set for a string that is not closed.
    /// </summary>
    private static bool SkipCommentOrString(string text, ref int i, ref int line, out (int Line, string Problem)? problem)
    {
        problem = null;
        var c = text[i];
        if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
        {
            while (i + 1 < text.Length && text[i + 1] != '\n')
                i++;
            return true;
        }

        if (c != '"')
            return false;
        if (i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"')
        {
            var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
            var stop = end < 0 ? text.Length : end + 2;
            for (; i < stop; i++)
                if (text[i] == '\n')
                    line++;
            if (end < 0)
                problem = (line, "a \"\"\" string is never closed.");
            return true;
        }

        var started = line;
        for (i++; i < text.Length && text[i] != '"'; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == '\n')
            {
                problem = (started, "a quoted string is not closed on its line.");
                return true;
            }
        }

        if (i >= text.Length)
            problem = (started, "a quoted string is never closed.");
        return true;
    }

    /// <summary>
    /// Rewrites <c>include required("f")</c> and <c>include file("f")</c> (HOCON's other include forms) as
    /// <c>include "f"</c>, on the same line: Akka's parser would skip them, and the rest of the file with them. Every
    /// include must exist here anyway. url(...) and classpath(...) are refused, naming the line.
    /// </summary>
    internal static string PlainIncludes(string text, string source)
    {
        StringBuilder? result = null;
        var copied = 0;
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            if (SkipCommentOrString(text, ref i, ref line, out _))
                continue;
            var c = text[i];
            switch (c)
            {
                case '\n':
                    line++;
                    break;
                case 'i' when string.CompareOrdinal(text, i, "include", 0, 7) == 0
                              && (i == 0 || char.IsWhiteSpace(text[i - 1]) || text[i - 1] is '{' or ',')
                              && i + 7 < text.Length && char.IsWhiteSpace(text[i + 7]):
                    var form = IncludeForm().Match(text, i);
                    if (!form.Success)
                        break;
                    foreach (var wrapper in form.Groups["wrapper"].Captures.Select(w => w.Value))
                        if (wrapper is not ("required" or "file"))
                            throw new HostConfigurationException(
                                $"{source}: line {line}: include {wrapper}(...) is not supported; include a file by its path: include \"file.conf\"");
                    result ??= new StringBuilder(text.Length);
                    result.Append(text, copied, i - copied).Append("include ").Append(form.Groups["name"].Value);
                    var lines = form.Value.Count(ch => ch == '\n');
                    result.Append('\n', lines);
                    line += lines;
                    i += form.Length - 1;
                    copied = i + 1;
                    break;
            }
        }

        return result is null ? text : result.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>Akka's HOCON tokenizer reports "at position N" (a character offset): turn it into a 1-based line.</summary>
    private static int? LineOfPosition(string text, string message)
    {
        var match = PositionPattern().Match(message);
        if (!match.Success || !int.TryParse(match.Groups[1].Value, out var position))
            return null;
        position = Math.Clamp(position, 0, text.Length);
        var line = 1;
        for (var i = 0; i < position; i++)
            if (text[i] == '\n')
                line++;
        return line;
    }

    /// <summary>Collapses a multi-line message into one line.</summary>
    public static string OneLine(string text) =>
        WhiteSpaceRun().Replace(text.Replace("\r", " ").Replace("\n", " "), " ").Trim();

    [GeneratedRegex(@"[Ll]ine[: ]+(\d+)")]
    private static partial Regex LinePattern();

    [GeneratedRegex(@"at position (\d+)")]
    private static partial Regex PositionPattern();

    /// <summary><c>include required(file("f"))</c> and the like: the wrapper names and the quoted file name.</summary>
    [GeneratedRegex(@"\Ginclude\s+(?:(?<wrapper>[A-Za-z]+)\s*\(\s*)+(?<name>""(?:[^""\\\n]|\\.)*"")(?:\s*\))+")]
    private static partial Regex IncludeForm();

    [GeneratedRegex(@"\s{2,}")]
    private static partial Regex WhiteSpaceRun();
}
