using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorScheduler.Configuration;

/// <summary>Reads one HOCON object with errors that name the full path and what is allowed.</summary>
internal sealed class ConfigReader
{
    private readonly Config _config;

    public ConfigReader(Config config, string path)
    {
        _config = config;
        Path = path;
    }

    /// <summary>The full path of this object, used as the prefix of every error.</summary>
    public string Path { get; }

    /// <summary>The object itself.</summary>
    public Config Config => _config;

    public string PathOf(string key) => $"{Path}.{key}";

    public bool Has(string key) => _config.HasPath(key) && !IsNull(key);

    public IReadOnlyList<string> Keys =>
        _config.Root.IsObject() ? _config.Root.GetObject().Items.Keys.ToList() : [];

    public bool IsNull(string key)
    {
        var value = _config.GetValue(key);
        return value is null || value.IsEmpty || (value.IsString() && value.GetString() is null or "null");
    }

    public bool IsObject(string key) => _config.HasPath(key) && _config.GetValue(key).IsObject();

    public bool IsArray(string key) => _config.HasPath(key) && _config.GetValue(key).IsArray();

    public ConfigReader Child(string key)
    {
        if (_config.HasPath(key) && !IsObject(key))
            throw new PeriodicTaskConfigurationException(PathOf(key), $"must be an object {{ ... }}, got \"{Raw(key)}\".");
        return new ConfigReader(_config.HasPath(key) ? _config.GetConfig(key) : Config.Empty, PathOf(key));
    }

    /// <summary>
    /// The object at key <paramref name="name"/> taken as one key, not as a path, so that a task named "a.b" (or with
    /// quotes in its name) still reads as one entry.
    /// </summary>
    public ConfigReader ChildByName(string name) =>
        new(Entry(name) is { } value && value.IsObject() ? new Config(new HoconRoot(value)) : Config.Empty, $"{Path}.{name}");

    /// <summary>True when key <paramref name="name"/> (taken as one key, not as a path) holds an object.</summary>
    public bool IsObjectByName(string name) => Entry(name) is { } value && value.IsObject();

    private HoconValue? Entry(string name) =>
        _config.Root.IsObject() && _config.Root.GetObject().Items.TryGetValue(name, out var value) ? value : null;

    public string Raw(string key)
    {
        var value = _config.GetValue(key);
        if (value is null) return "";
        if (value.IsObject()) return "{ ... }";
        if (value.IsArray()) return "[ ... ]";
        return value.GetString() ?? "null";
    }

    public TimeSpan Duration(string key, TimeSpan fallback, bool allowInfinite = false)
    {
        if (!Has(key))
            return fallback;
        var raw = Raw(key).Trim();
        if (allowInfinite && raw is "infinite" or "inf")
            return Timeout.InfiniteTimeSpan;
        if (IsObject(key) || IsArray(key) || !Durations.TryParse(raw, out var value))
            throw new PeriodicTaskConfigurationException(
                PathOf(key),
                $"\"{raw}\" is not a duration; use HOCON syntax such as 500ms, 90s, 10m, 1h{(allowInfinite ? ", or infinite" : "")}.");
        return value;
    }

    public bool Bool(string key, bool fallback)
    {
        if (!Has(key))
            return fallback;
        return Raw(key).Trim().ToLowerInvariant() switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            var raw => throw new PeriodicTaskConfigurationException(PathOf(key), $"\"{raw}\" is not a boolean; use on or off."),
        };
    }

    public int Int(string key, int fallback, int min)
    {
        if (!Has(key))
            return fallback;
        var raw = Raw(key).Trim();
        if (!int.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value))
            throw new PeriodicTaskConfigurationException(PathOf(key), $"\"{raw}\" is not a whole number; use an integer >= {min}.");
        if (value < min)
            throw new PeriodicTaskConfigurationException(PathOf(key), $"{value} is not allowed; use an integer >= {min}.");
        return value;
    }

    public string String(string key, string fallback)
    {
        if (!Has(key))
            return fallback;
        if (IsObject(key) || IsArray(key))
            throw new PeriodicTaskConfigurationException(PathOf(key), "must be a string.");
        return Raw(key);
    }

    public T Enum<T>(string key, T fallback, params (string Name, T Value)[] allowed)
    {
        if (!Has(key))
            return fallback;
        var raw = Raw(key).Trim();
        foreach (var (name, value) in allowed)
            if (string.Equals(name, raw, StringComparison.OrdinalIgnoreCase))
                return value;
        throw new PeriodicTaskConfigurationException(
            PathOf(key), $"\"{raw}\" is not allowed; use one of: {string.Join(", ", allowed.Select(a => a.Name))}.");
    }

    /// <summary>
    /// Fails on the first key not in <paramref name="known"/>: with the reason from <paramref name="elsewhere"/> when it
    /// has one for that key (a key another package reads), else suggesting the closest known key.
    /// </summary>
    public void RejectUnknownKeys(IReadOnlyCollection<string> known, Func<string, string?>? elsewhere = null)
    {
        foreach (var key in Keys)
        {
            if (known.Contains(key))
                continue;
            var reason = elsewhere?.Invoke(key);
            var closest = reason is null ? Suggestions.Closest(key, known) : null;
            var hint = reason is not null ? $"; {reason}." : closest is not null ? $"; did you mean '{closest}'?" : "";
            throw new PeriodicTaskConfigurationException(PathOf(key), $"unknown key{hint} Known keys: {string.Join(", ", known)}.");
        }
    }
}
