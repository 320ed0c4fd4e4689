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

        return new LoadedConfig(Parse(text, path, Path.GetDirectoryName(full)), path, Path.GetDirectoryName(full)!, SetNameOf(full), IsBuiltIn: false);
    }

    /// <summary>Parses HOCON text; a syntax error names <paramref name="source"/> and, when the parser gives it, the line.</summary>
    public static Config Parse(string text, string source, string? includeDirectory = null)
    {
        // Akka's parser accepts some unbalanced braces silently: check them first, to name the line.
        if (UnbalancedBracket(text) is { } bracket)
            throw new HostConfigurationException($"{source}: line {bracket.Line}: not valid HOCON: {bracket.Problem}");
        try
        {
            // An empty file is a valid configuration with every default.
            return string.IsNullOrWhiteSpace(text)
                ? Config.Empty
                : ConfigurationFactory.ParseString(text, Includes(includeDirectory ?? Directory.GetCurrentDirectory(), source, 0));
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

    /// <summary>HOCON <c>include "file.conf"</c>: relative to the including file's folder, at most 16 levels deep.</summary>
    private static Func<string, HoconRoot> Includes(string directory, string source, int depth) => name =>
    {
        if (depth >= 16)
            throw new HostConfigurationException($"{source}: include \"{name}\": includes nest more than 16 levels (a cycle?).");
        var full = Path.GetFullPath(name, directory);
        if (!File.Exists(full))
            throw new HostConfigurationException($"{source}: include \"{name}\": file not found ({full}).");
        var text = File.ReadAllText(full);
        if (UnbalancedBracket(text) is { } bracket)
            throw new HostConfigurationException($"{name}: line {bracket.Line}: not valid HOCON: {bracket.Problem}");
        try
        {
            return Parser.Parse(text, Includes(Path.GetDirectoryName(full)!, name, depth + 1));
        }
        catch (HostConfigurationException)
        {
            throw;
        }
        catch (Exception e)
        {
            var message = OneLine(e.Message);
            var line = LineOf(e, message) ?? LineOfPosition(text, message);
            throw new HostConfigurationException($"{name}: {(line is null ? "" : $"line {line}: ")}not valid HOCON: {message}");
        }
    };

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
            var c = text[i];
            switch (c)
            {
                case '\n':
                    line++;
                    break;
                case '#':
                case '/' when i + 1 < text.Length && text[i + 1] == '/':
                    while (i + 1 < text.Length && text[i + 1] != '\n')
                        i++;
                    break;
                case '"' when i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"':
                    var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    var stop = end < 0 ? text.Length : end + 2;
                    for (; i < stop; i++)
                        if (text[i] == '\n')
                            line++;
                    if (end < 0)
                        return (line, "a \"\"\" string is never closed.");
                    break;
                case '"':
                    var started = line;
                    for (i++; i < text.Length && text[i] != '"'; i++)
                    {
                        if (text[i] == '\\')
                            i++;
                        else if (text[i] == '\n')
                            return (started, "a quoted string is not closed on its line.");
                    }

                    if (i >= text.Length)
                        return (started, "a quoted string is never closed.");
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

    [GeneratedRegex(@"\s{2,}")]
    private static partial Regex WhiteSpaceRun();
}
