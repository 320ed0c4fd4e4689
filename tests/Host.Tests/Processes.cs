using System.Text;

namespace ActorScheduler.Host.Tests;

/// <summary>Processes found in /proc (Linux), so that a test can see which of the commands it caused are still alive.</summary>
public static class Processes
{
    /// <summary>The variable that tests put into a command's environment to recognise its processes (their children inherit it).</summary>
    public const string MarkVariable = "ACTOR_SCHEDULER_TEST_MARK";

    /// <summary>Live (not zombie) processes whose environment has <see cref="MarkVariable"/>=<paramref name="mark"/>, with their command lines.</summary>
    public static IReadOnlyList<(int Pid, string CommandLine)> Marked(string mark)
    {
        var wanted = $"{MarkVariable}={mark}";
        var found = new List<(int, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var environment = File.ReadAllText(Path.Combine(dir, "environ"), Encoding.UTF8).Split('\0');
                if (!environment.Contains(wanted) || !HostProcess.IsAlive(pid))
                    continue;
                found.Add((pid, File.ReadAllText(Path.Combine(dir, "cmdline"), Encoding.UTF8).Replace('\0', ' ').Trim()));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or another user's.
            }
        }

        return found;
    }

    public static string Describe(IEnumerable<(int Pid, string CommandLine)> processes) =>
        string.Join("; ", processes.Select(p => $"{p.Pid}: {p.CommandLine}"));
}
