using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using ActorScheduler.Configuration;
using Akka.Configuration;

namespace ActorScheduler.Host.Configuration;

/// <summary>
/// <c>actor-scheduler-host.http</c>: where <c>run</c> serves the operator console (endpoint, or off), the token every
/// request needs, and whether changes are refused (docs/host.md, "HTTP").
/// </summary>
internal sealed record HttpSettings(HttpEndpoint? Endpoint, string? Token, bool ReadOnly)
{
    public const string Section = HostPlan.HostSection + ".http";
    public const string EndpointKey = Section + ".endpoint";
    public const string TokenKey = Section + ".token";
    public const string ReadOnlyKey = Section + ".read-only";

    /// <summary>The environment variable with the token when the configuration has none (also read by the control commands).</summary>
    public const string TokenVariable = "ACTOR_SCHEDULER_TOKEN";

    private static readonly IReadOnlyList<string> Keys = ["endpoint", "token", "read-only"];

    /// <summary>Reads and checks the section (defaults from hocon/host-reference.conf).</summary>
    /// <exception cref="PeriodicTaskConfigurationException">an unknown key or a bad value, naming its full path.</exception>
    public static HttpSettings Read(Config config)
    {
        if (config.HasPath(Section) && !config.GetValue(Section).IsObject())
            throw new PeriodicTaskConfigurationException(Section, "must be an object { endpoint = \"127.0.0.1:0\", token = null, read-only = off }.");
        var http = new ConfigReader(config.HasPath(Section) ? config.GetConfig(Section) : Config.Empty, Section);
        http.RejectUnknownKeys(Keys);
        var endpoint = http.String("endpoint", "127.0.0.1:0");
        var token = http.Has("token") ? http.String("token", "") : null;
        if (token is not null && token.Trim().Length == 0)
            throw new PeriodicTaskConfigurationException(TokenKey, "is empty; set a token, or remove the key (then ACTOR_SCHEDULER_TOKEN, else one generated at start).");
        var readOnly = http.Bool("read-only", false);
        return new HttpSettings(ParseEndpoint(endpoint, EndpointKey), token?.Trim(), readOnly);
    }

    /// <summary>
    /// The settings <c>run</c> serves with: <paramref name="httpOption"/> (--http) replaces the endpoint; the token is the
    /// key's, else <see cref="TokenVariable"/>'s, else null (generated at start). A non-loopback endpoint needs a
    /// configured token.
    /// </summary>
    /// <exception cref="HostConfigurationException">a bad --http value, or a non-loopback endpoint without a token.</exception>
    public Resolved Resolve(string? httpOption, string? tokenVariable)
    {
        var endpoint = httpOption is null ? Endpoint : ParseEndpoint(httpOption, "--http");
        var endpointSource = httpOption is null ? EndpointKey : "--http";
        string? token = Token;
        var tokenSource = TokenKey;
        if (token is null && !string.IsNullOrWhiteSpace(tokenVariable))
            (token, tokenSource) = (tokenVariable.Trim(), TokenVariable);
        if (endpoint is not null && !endpoint.IsLoopback && token is null)
            throw new HostConfigurationException(
                $"{TokenKey}: required when the endpoint is not a loopback address ({endpointSource} = {endpoint}); " +
                $"set it, or the environment variable {TokenVariable}, or listen on 127.0.0.1.");
        return new Resolved(endpoint, endpointSource, token ?? NewToken(), token is null ? null : tokenSource, ReadOnly);
    }

    /// <summary>32 random bytes, base64url.</summary>
    public static string NewToken() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>HOST:PORT with an IP address (IPv6 in brackets), localhost or *; or off (null).</summary>
    /// <exception cref="PeriodicTaskConfigurationException">anything else, naming <paramref name="where"/>.</exception>
    public static HttpEndpoint? ParseEndpoint(string text, string where)
    {
        var trimmed = text.Trim();
        if (trimmed.Equals("off", StringComparison.OrdinalIgnoreCase))
            return null;
        var allowed = "use HOST:PORT with an IP address, localhost or *, such as 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:0 (port 0: any free port), or off";
        var colon = trimmed.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(trimmed.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            throw Bad(where, text, allowed);
        var host = trimmed[..colon];
        IPAddress? address = host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" => IPAddress.Any,
            _ when host.StartsWith('[') && host.EndsWith(']') && IPAddress.TryParse(host[1..^1], out var v6) => v6,
            _ when !host.Contains(':') && IPAddress.TryParse(host, out var v4) && host.Count(c => c == '.') == 3 => v4,
            _ => null,
        };
        if (address is null)
            throw Bad(where, text, allowed);
        return new HttpEndpoint(address, port);
    }

    private static Exception Bad(string where, string text, string allowed) => where.StartsWith('-')
        ? new HostConfigurationException($"{where}: \"{text}\" is not an endpoint; {allowed}.")
        : new PeriodicTaskConfigurationException(where, $"\"{text}\" is not an endpoint; {allowed}.");

    /// <summary>What <c>run</c> serves: the endpoint (null: nothing), its source (key or --http), the token and its source (null: generated).</summary>
    public sealed record Resolved(HttpEndpoint? Endpoint, string EndpointSource, string Token, string? TokenSource, bool ReadOnly);
}

/// <summary>An address and port Kestrel listens on.</summary>
internal sealed record HttpEndpoint(IPAddress Address, int Port)
{
    public bool IsLoopback => IPAddress.IsLoopback(Address);

    public IPEndPoint ToIPEndPoint() => new(Address, Port);

    public override string ToString() => new IPEndPoint(Address, Port).ToString();
}
