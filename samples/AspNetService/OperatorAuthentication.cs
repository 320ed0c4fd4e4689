using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AspNetService;

/// <summary>
/// The application's own authentication, as a stand-in for whatever a real service uses (cookies with a login page,
/// OpenID Connect, client certificates, ...): HTTP Basic with one operator account from configuration
/// ("Operators:User", "Operators:Password"). It needs no external service, browsers ask for it by themselves, and
/// curl sends it with -u. Basic sends the password with every request: beyond loopback, serve HTTPS.
/// </summary>
public sealed class OperatorAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IConfiguration configuration)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Basic";
    public const string PolicyName = "operators";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header)
            || !string.Equals(header.Scheme, SchemeName, StringComparison.OrdinalIgnoreCase)
            || header.Parameter is null)
            return Task.FromResult(AuthenticateResult.NoResult());

        string user, password;
        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            var colon = pair.IndexOf(':');
            if (colon < 0)
                return Task.FromResult(AuthenticateResult.Fail("malformed Basic credentials"));
            (user, password) = (pair[..colon], pair[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return Task.FromResult(AuthenticateResult.Fail("malformed Basic credentials"));
        }

        var expectedUser = configuration["Operators:User"];
        var expectedPassword = configuration["Operators:Password"];
        if (string.IsNullOrEmpty(expectedUser) || string.IsNullOrEmpty(expectedPassword)
            || !(FixedTimeEquals(user, expectedUser) & FixedTimeEquals(password, expectedPassword)))
            return Task.FromResult(AuthenticateResult.Fail("wrong user or password"));

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user), new Claim(ClaimTypes.Role, "operator")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Basic realm=\"scheduler\", charset=\"UTF-8\"";
        return base.HandleChallengeAsync(properties);
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(a)), SHA256.HashData(Encoding.UTF8.GetBytes(b)));
}
