using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;

namespace ActorScheduler.Dashboard;

/// <summary>The live page: HTML, CSS and JavaScript embedded in the assembly (wwwroot), served as they are.</summary>
internal static class DashboardPage
{
    private static readonly ConcurrentDictionary<string, byte[]?> Files = new();

    private static readonly Dictionary<string, string> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    public static IResult Serve(HttpContext http, string file)
    {
        var bytes = Files.GetOrAdd(file, Load);
        if (bytes is null || !Types.TryGetValue(Path.GetExtension(file), out var type))
            return DashboardSecurity.Error(StatusCodes.Status404NotFound, $"no file named '{file}'.");
        // The page is never stored (it is served behind the token); its assets are revalidated.
        var page = file.EndsWith(".html", StringComparison.Ordinal);
        http.Response.Headers.CacheControl = page ? "no-store" : "no-cache";
        http.Response.Headers["X-Content-Type-Options"] = "nosniff";
        if (page)
        {
            http.Response.Headers["Content-Security-Policy"] =
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";
            http.Response.Headers["Referrer-Policy"] = "no-referrer";
        }

        return Results.Bytes(bytes, type);
    }

    private static byte[]? Load(string file)
    {
        using var stream = typeof(DashboardPage).Assembly.GetManifestResourceStream("ActorScheduler.Dashboard.wwwroot." + file);
        if (stream is null)
            return null;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
