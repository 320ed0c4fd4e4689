using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace ActorScheduler.Dashboard;

/// <summary>Marks the endpoints served without the token: healthz, readyz (metrics is not a route handler: never checked).</summary>
internal sealed class NoTokenMetadata
{
    public static readonly NoTokenMetadata Instance = new();
}

/// <summary>Marks the page, whose first load may carry ?token= (it sets the cookie and redirects without it).</summary>
internal sealed class PageMetadata
{
    public static readonly PageMetadata Instance = new();
}

/// <summary>
/// The token check (Authorization: Bearer, the cookie, or ?token= on the page's first load) and read-only mode, as an
/// endpoint filter over the console's group. Failures are JSON: 401 without a good token, 403 for a change when read-only.
/// </summary>
internal sealed class DashboardSecurity(Func<HttpContext, PeriodicTaskDashboardOptions> options) : IEndpointFilter
{
    public const string CookieName = "actor-scheduler-token";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var settings = options(http);
        var metadata = http.GetEndpoint()?.Metadata;
        if (settings.Token is { } token && metadata?.GetMetadata<NoTokenMetadata>() is null)
        {
            if (!Authorized(http, token))
            {
                if (metadata?.GetMetadata<PageMetadata>() is not null && http.Request.Query.TryGetValue("token", out var given) && Same(given.ToString(), token))
                    return FirstLoad(http);
                return Error(StatusCodes.Status401Unauthorized,
                    "a token is needed: send Authorization: Bearer TOKEN, or open the page once with ?token=TOKEN.");
            }
        }

        if (settings.ReadOnly && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method))
            return Error(StatusCodes.Status403Forbidden, "read-only: this console refuses changes (pause, resume, trigger, adding and removing tasks).");
        return await next(context).ConfigureAwait(false);
    }

    internal static IResult Error(int status, string message) => Results.Json(new { error = message }, DashboardApi.Json, statusCode: status);

    private static bool Authorized(HttpContext http, string token)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return Same(header["Bearer ".Length..].Trim(), token);
        return http.Request.Cookies.TryGetValue(CookieName, out var cookie) && Same(cookie, token);
    }

    /// <summary>Sets the HttpOnly SameSite=Strict cookie and redirects to the same URL without the token.</summary>
    private static IResult FirstLoad(HttpContext http)
    {
        var request = http.Request;
        var path = (request.PathBase + request.Path).ToString();
        if (!path.EndsWith('/'))
            path += "/";
        http.Response.Cookies.Append(CookieName, request.Query["token"].ToString(), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = request.IsHttps,
            Path = path.Length == 0 ? "/" : path,
            IsEssential = true,
        });
        var rest = request.Query.Where(q => q.Key != "token").SelectMany(q => q.Value.Select(v => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(v ?? "")));
        var query = string.Join('&', rest);
        http.Response.Headers.CacheControl = "no-store";
        return Results.Redirect(query.Length == 0 ? path : path + "?" + query);
    }

    /// <summary>Compares in constant time (over hashes, so the length does not show either).</summary>
    internal static bool Same(string given, string token) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
