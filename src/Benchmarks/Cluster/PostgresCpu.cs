using System.Globalization;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// CPU time of the PostgreSQL server that .ci/postgres.sh started (ACTOR_SCHEDULER_PG_DIR): its postmaster and every
/// backend, from /proc. A backend that exits between two reads takes its time with it; the benchmark's connections are
/// pooled, so its backends live as long as the worker.
/// </summary>
internal static class PostgresCpu
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>Seconds of CPU so far, 0 without such a server (or off Linux).</summary>
    public static double Read()
    {
        var dir = Environment.GetEnvironmentVariable("ACTOR_SCHEDULER_PG_DIR");
        if (dir is null || !OperatingSystem.IsLinux())
            return 0;
        try
        {
            var pidFile = Path.Combine(dir, "data", "postmaster.pid");
            if (!File.Exists(pidFile))
                return 0;
            var postmaster = File.ReadLines(pidFile).First().Trim();
            long ticks = 0;
            foreach (var proc in Directory.EnumerateDirectories("/proc"))
            {
                var name = Path.GetFileName(proc);
                if (name.Length == 0 || !char.IsDigit(name[0]))
                    continue;
                var stat = Stat(proc);
                if (stat is null)
                    continue;
                if (name == postmaster || stat[1] == postmaster) // the fields after the command: state, ppid, ...
                    ticks += long.Parse(stat[11], CultureInfo.InvariantCulture) + long.Parse(stat[12], CultureInfo.InvariantCulture);
            }

            return ticks / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>The fields of /proc/PID/stat after the command name, or null when the process is gone.</summary>
    private static string[]? Stat(string proc)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(proc, "stat"));
            return text[(text.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
