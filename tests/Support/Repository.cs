namespace ActorScheduler.Testing.Support;

/// <summary>The repository's root folder: the nearest one that holds ActorScheduler.sln.</summary>
internal static class Repository
{
    private const string Marker = "ActorScheduler.sln";

    private static readonly Lazy<string> AboveBaseDirectory = new(() =>
        RootAbove(AppContext.BaseDirectory) ?? throw new DirectoryNotFoundException(Marker + " not found above " + AppContext.BaseDirectory));

    /// <summary>The root above this program's folder (its bin/...); throws <see cref="DirectoryNotFoundException"/> when there is none.</summary>
    public static string Root => AboveBaseDirectory.Value;

    /// <summary>The nearest folder at or above <paramref name="start"/> that holds ActorScheduler.sln, or null.</summary>
    public static string? RootAbove(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, Marker)))
                return dir.FullName;
        return null;
    }
}
