using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;

namespace ActorScheduler.Host.Configuration;

/// <summary>Reads the host's configuration: a HOCON file given with --config, or the embedded demo (hocon/host.conf).</summary>
public static partial class ConfigLoader
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

        return new LoadedConfig(Parse(text, path), path, Path.GetDirectoryName(full)!, SetNameOf(full), IsBuiltIn: false);
    }

    /// <summary>Parses HOCON text; a syntax error names <paramref name="source"/> and, when the parser gives it, the line.</summary>
    public static Config Parse(string text, string source)
    {
        try
        {
            // An empty file is a valid configuration with every default.
            return string.IsNullOrWhiteSpace(text) ? Config.Empty : ConfigurationFactory.ParseString(text);
        }
        catch (Exception e)
        {
            var message = OneLine(e.Message);
            var line = LineOf(e, message);
            throw new HostConfigurationException(
                $"{source}{(line is null ? "" : $":{line}")}: not valid HOCON{(line is null ? "" : $" (line {line})")}: {message}");
        }
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

    /// <summary>Collapses a multi-line message into one line.</summary>
    public static string OneLine(string text) =>
        WhiteSpaceRun().Replace(text.Replace("\r", " ").Replace("\n", " "), " ").Trim();

    [GeneratedRegex(@"[Ll]ine[: ]+(\d+)")]
    private static partial Regex LinePattern();

    [GeneratedRegex(@"\s{2,}")]
    private static partial Regex WhiteSpaceRun();
}
