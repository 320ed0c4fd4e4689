using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorScheduler.Benchmarks.Harness;
using static ActorScheduler.Benchmarks.Harness.Orchestrator;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// Mode <c>commands</c> (docs/benchmarks.md, "Command tasks through the console host"): R commands <c>true</c> a
/// second through the console host (R/2 tasks every 500 ms, as a string and as a list), beside the same commands started
/// by a plain C# loop with <c>Process.Start</c> in this process (evenly spaced, and R/2 at once every 500 ms), one after
/// the other in the same run. Start to end of each command (the host's
/// <c>durationMs</c>; the loop's Start to exit), delivered, and CPU per command (the process's own, and with the
/// commands it waited for).
/// </summary>
internal static class CommandRate
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(500);

    public static async Task<string> RunAsync(string[] args)
    {
        var rates = (OptionValue(args, "--rates") ?? "100,300").Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToList();
        var window = TimeSpan.FromSeconds(double.Parse(OptionValue(args, "--window") ?? "20", CultureInfo.InvariantCulture));
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"Commands `true`, {window.TotalSeconds:0} s measured after 5 s of warm-up per rate; CPU per command: user + system time over the window over commands run."));
        sb.AppendLine();
        sb.AppendLine("| Rate (commands/s) | Starter | Delivered / demanded | p50 start to end (ms) | p99 (ms) | max (ms) | CPU per command (ms) | With the commands' (ms) |");
        sb.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var rate in rates)
        {
            var results = new[]
            {
                await ThroughHostAsync(rate, window, argv: false).ConfigureAwait(false),
                await ThroughHostAsync(rate, window, argv: true).ConfigureAwait(false),
                await PlainLoopAsync(rate, window, burst: false).ConfigureAwait(false),
                await PlainLoopAsync(rate, window, burst: true).ConfigureAwait(false),
            };
            foreach (var r in results)
            {
                Console.WriteLine(Inv($"  {rate}/s {r.Starter,-34} delivered {r.Delivered}/{r.Demanded}  p50 {r.P50:0.0} ms  p99 {r.P99:0.0} ms  CPU {r.Cpu:0.00} ms/command ({r.CpuWithChildren:0.00} with the commands)"));
                sb.AppendLine(Inv($"| {rate} | {r.Starter} | {r.Delivered:N0} / {r.Demanded:N0} ({100.0 * r.Delivered / r.Demanded:0.00}%) | {r.P50:0.0} | {r.P99:0.0} | {r.Max:0.0} | {r.Cpu:0.00} | {r.CpuWithChildren:0.00} |"));
            }
        }

        return sb.ToString();
    }

    private sealed record Result(string Starter, long Delivered, long Demanded, double P50, double P99, double Max, double Cpu, double CpuWithChildren);

    /// <summary>
    /// The console host running R/2 tasks <c>command = "true"</c> (a string: <c>/bin/sh -c true</c>) or, with
    /// <paramref name="argv"/>, <c>command = ["true"]</c> every 500 ms; its events give each run's duration.
    /// </summary>
    private static async Task<Result> ThroughHostAsync(int rate, TimeSpan window, bool argv)
    {
        var dir = Directory.CreateTempSubdirectory("actor-scheduler-commands-");
        try
        {
            var tasks = Math.Max(1, (int)(rate * Period.TotalSeconds));
            var config = new StringBuilder("actor-scheduler {\n  periodic-interval = 500ms\n  initial-delay = 0s\n  tasks {\n");
            for (var i = 0; i < tasks; i++)
                config.Append("    c").Append(i).AppendLine(argv ? " { command = [\"true\"] }" : " { command = \"true\" }");
            config.AppendLine("  }\n}\nactor-scheduler-host.http.endpoint = off");
            var file = Path.Combine(dir.FullName, "commands.conf");
            await File.WriteAllTextAsync(file, config.ToString()).ConfigureAwait(false);
            var events = Path.Combine(dir.FullName, "events.jsonl");
            var warmup = TimeSpan.FromSeconds(5);
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { HostNode.HostDll(RepositoryRoot()), "run", "--config", file, "--events", events, "--for", Inv($"{(warmup + window).TotalSeconds + 1:0}s") })
                start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            await Task.Delay(warmup).ConfigureAwait(false);
            var (cpu0, children0) = Cpu(process.Id);
            var from = DateTimeOffset.UtcNow;
            await Task.Delay(window).ConfigureAwait(false);
            var (cpu1, children1) = Cpu(process.Id);
            var to = DateTimeOffset.UtcNow;
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);

            var durations = new List<double>();
            foreach (var line in File.ReadLines(events))
            {
                using var e = JsonDocument.Parse(line);
                var root = e.RootElement;
                if (root.GetProperty("event").GetString() is "succeeded" or "failed" or "timed-out"
                    && root.GetProperty("time").GetDateTimeOffset() is var at && at >= from && at < to)
                    durations.Add(root.GetProperty("durationMs").GetDouble());
            }

            return Summarize(argv ? "console host, `[\"true\"]`" : "console host, `\"true\"`", durations, (long)(tasks * window.TotalSeconds / Period.TotalSeconds), cpu1 - cpu0, children1 - children0);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The same commands started from this process, each awaited on its own: one <c>Process.Start</c> every 1/R s, or,
    /// with <paramref name="burst"/>, R/2 at once every 500 ms from the thread pool (as the host's tasks fall due).
    /// </summary>
    private static async Task<Result> PlainLoopAsync(int rate, TimeSpan window, bool burst)
    {
        var durations = new List<double>();
        var pending = new List<Task>();
        var perStart = burst ? Math.Max(1, (int)(rate * Period.TotalSeconds)) : 1;
        var interval = burst ? Period : TimeSpan.FromSeconds(1.0 / rate);
        async Task RunOneAsync(bool counted)
        {
            var begun = Stopwatch.GetTimestamp();
            using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            await process.WaitForExitAsync().ConfigureAwait(false);
            if (counted)
                lock (durations)
                    durations.Add(Stopwatch.GetElapsedTime(begun).TotalMilliseconds);
        }

        var self = Environment.ProcessId;
        var warmup = TimeSpan.FromSeconds(5);
        var epoch = Stopwatch.GetTimestamp();
        (double, double) cpu0 = default;
        var measuring = false;
        for (long k = 0; ; k++)
        {
            var due = interval * k;
            if (due >= warmup + window)
                break;
            if (!measuring && due >= warmup)
            {
                measuring = true;
                cpu0 = Cpu(self);
            }

            var wait = due - Stopwatch.GetElapsedTime(epoch);
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait).ConfigureAwait(false);
            var counted = measuring;
            for (var i = 0; i < perStart; i++)
                pending.Add(burst ? Task.Run(() => RunOneAsync(counted)) : RunOneAsync(counted));
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        var cpu1 = Cpu(self);
        return Summarize(burst ? "Process.Start, R/2 at once" : "Process.Start loop, evenly", durations, (long)(rate * window.TotalSeconds), cpu1.Item1 - cpu0.Item1, cpu1.Item2 - cpu0.Item2);
    }

    private static Result Summarize(string starter, List<double> durations, long demanded, double cpuMs, double childrenMs)
    {
        durations.Sort();
        double At(double q) => durations.Count == 0 ? double.NaN : durations[Math.Min(durations.Count - 1, (int)(q * durations.Count))];
        var n = Math.Max(1, durations.Count);
        return new Result(starter, durations.Count, demanded, At(0.5), At(0.99), durations.Count == 0 ? double.NaN : durations[^1],
            cpuMs / n, (cpuMs + childrenMs) / n);
    }

    /// <summary>CPU of a process in ms from /proc: its own (utime + stime), and that of the children it has waited for (cutime + cstime).</summary>
    private static (double Own, double Children) Cpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        double Ticks(int field) => double.Parse(fields[field - 3], CultureInfo.InvariantCulture) * 10; // field numbers of proc(5); 100 ticks a second
        return (Ticks(14) + Ticks(15), Ticks(16) + Ticks(17));
    }
}
