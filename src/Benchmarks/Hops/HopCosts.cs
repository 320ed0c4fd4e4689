using System.Diagnostics;
using System.Globalization;
using ActorScheduler.Configuration;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;

namespace ActorScheduler.Benchmarks.Hops;

/// <summary>
/// --hops: what a run costs, hop by hop, in one process. The pipeline: W2's load (10,000 tasks due every 100 ms tick)
/// with the manager on a thread of its own (a PinnedDispatcher), so that its CPU time, the serial part of every run, is
/// read apart from the rest (/proc/self/task/TID/schedstat); once with run-events = all and once with off. Beside it,
/// the three kinds of hop a run makes, each alone: a message to an idle actor (manager to runner, body to runner), a
/// thread-pool work item (runner to body), a message to a busy actor (runners to manager). Prints a markdown table
/// (docs/benchmarks.md, "What a run costs, hop by hop"), two rounds of each, alternated.
/// </summary>
internal static class HopCosts
{
    private const string ManagerDispatcher = "hop-mgr";
    private const int Tasks = 10_000;
    private const int Batch = 10_000;

    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = args.Length > 0 && int.TryParse(args[0], CultureInfo.InvariantCulture, out var s) ? s : 10;
        Console.WriteLine($"# What each hop costs: {Environment.ProcessorCount} cores, {seconds} s per pipeline, load average {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| Measured | Count | CPU per item (µs) | Manager thread per run (µs) | Bytes per item |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        for (var round = 0; round < 2; round++) // alternated: the machine's drift falls on both
        {
            foreach (var events in new[] { RunEvents.All, RunEvents.Off })
                Print(await PipelineAsync(events, TimeSpan.FromSeconds(seconds)).ConfigureAwait(false));
            Print(await IdleActorTellsAsync().ConfigureAwait(false));
            Print(await WorkItemsAsync().ConfigureAwait(false));
            Print(await BusyActorTellsAsync().ConfigureAwait(false));
        }
        Console.WriteLine();
        Console.WriteLine($"Load average after: {LoadAverage()}");
        return 0;
    }

    private sealed record Row(string Name, long Count, TimeSpan Cpu, long Bytes, TimeSpan? Manager = null);

    private static void Print(Row row) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {row.Name} | {row.Count:N0} | {row.Cpu.TotalMicroseconds / row.Count:0.00} | {(row.Manager is { } m ? (m.TotalMicroseconds / row.Count).ToString("0.00", CultureInfo.InvariantCulture) : "")} | {(double)row.Bytes / row.Count:0} |"));

    /// <summary>A set of <see cref="Tasks"/> tasks due on every 100 ms tick, measured for <paramref name="window"/> after 3 s.</summary>
    private static async Task<Row> PipelineAsync(RunEvents events, TimeSpan window)
    {
        var config = ConfigurationFactory.ParseString($$"""
            akka { loglevel = ERROR, stdout-loglevel = ERROR, log-dead-letters = off }
            {{ManagerDispatcher}} { type = PinnedDispatcher }
            actor-scheduler { periodic-interval = 100ms, tick-source = precise, run-events = {{events.ToString().ToLowerInvariant()}} }
            """);
        long bodies = 0;
        var set = new PeriodicTaskSet("hops");
        for (var i = 0; i < Tasks; i++)
        {
            set.Add("t" + i, (_, _) =>
            {
                Interlocked.Increment(ref bodies);
                return ValueTask.CompletedTask;
            });
        }

        var system = ActorSystem.Create("hops", config);
        try
        {
            var threadsBefore = ThreadNames();
            system.ActorOf(PeriodicTasks.Props(set, PeriodicTaskSettings.Create(config, "hops")).WithDispatcher(ManagerDispatcher), "manager");
            await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            var managerThread = ThreadNames().FirstOrDefault(t => !threadsBefore.ContainsKey(t.Key) && t.Value.StartsWith(ManagerDispatcher, StringComparison.Ordinal)).Key;
            var (cpu0, bytes0, runs0, mgr0) = (Cpu(), GC.GetTotalAllocatedBytes(), Interlocked.Read(ref bodies), ThreadCpu(managerThread));
            await Task.Delay(window).ConfigureAwait(false);
            var (cpu1, bytes1, runs1, mgr1) = (Cpu(), GC.GetTotalAllocatedBytes(), Interlocked.Read(ref bodies), ThreadCpu(managerThread));
            var manager = mgr0 is { } a && mgr1 is { } b ? b - a : (TimeSpan?)null;
            return new Row($"A run, run-events = {events.ToString().ToLowerInvariant()} (10,000 tasks every 100 ms)", runs1 - runs0, cpu1 - cpu0, bytes1 - bytes0, manager);
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
    }

    /// <summary>One message to each of <see cref="Batch"/> idle actors, 50 times: each message schedules its actor's mailbox.</summary>
    private static Task<Row> IdleActorTellsAsync() => InSystemAsync("hops-idle", system =>
    {
        var done = new Countdown();
        var actors = Enumerable.Range(0, Batch).Select(i => system.ActorOf(Props.Create(() => new Sink(done)), "sink-" + i)).ToArray();
        return MeasureAsync("A message to an idle actor (manager to runner, body to runner)", done, () => Array.ForEach(actors, a => a.Tell(Ping.Instance)));
    });

    /// <summary><see cref="Batch"/> messages to one actor at once, 50 times: its mailbox is scheduled once per burst, about.</summary>
    private static Task<Row> BusyActorTellsAsync() => InSystemAsync("hops-busy", system =>
    {
        var done = new Countdown();
        var actor = system.ActorOf(Props.Create(() => new Sink(done)), "sink");
        return MeasureAsync("A message to a busy actor (runner to manager)", done, () =>
        {
            for (var i = 0; i < Batch; i++)
                actor.Tell(Ping.Instance);
        });
    });

    /// <summary><see cref="Batch"/> thread-pool work items, 50 times (one instance each, as a runner's body invoker).</summary>
    private static Task<Row> WorkItemsAsync()
    {
        var done = new Countdown();
        var items = Enumerable.Range(0, Batch).Select(_ => new Item(done)).ToArray();
        return MeasureAsync("A thread-pool work item (runner to body)", done, () => Array.ForEach(items, i => ThreadPool.UnsafeQueueUserWorkItem(i, preferLocal: false)));
    }

    private static async Task<Row> InSystemAsync(string name, Func<ActorSystem, Task<Row>> measure)
    {
        var system = ActorSystem.Create(name, "akka.loglevel = WARNING");
        try
        {
            return await measure(system).ConfigureAwait(false);
        }
        finally
        {
            await system.Terminate().ConfigureAwait(false);
        }
    }

    /// <summary>5 rounds of <paramref name="send"/> to warm up, then 50 measured.</summary>
    private static async Task<Row> MeasureAsync(string name, Countdown done, Action send)
    {
        const int rounds = 50;
        await RoundsAsync(done, 5, send).ConfigureAwait(false);
        var (cpu0, bytes0) = (Cpu(), GC.GetTotalAllocatedBytes());
        await RoundsAsync(done, rounds, send).ConfigureAwait(false);
        return new Row(name, (long)rounds * Batch, Cpu() - cpu0, GC.GetTotalAllocatedBytes() - bytes0);
    }

    private static async Task RoundsAsync(Countdown done, int rounds, Action send)
    {
        for (var r = 0; r < rounds; r++)
        {
            var round = done.Start(Batch);
            send();
            await round.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
    }

    private static TimeSpan Cpu() => Process.GetCurrentProcess().TotalProcessorTime;

    /// <summary>The threads of this process by id, with their names (Linux; empty elsewhere).</summary>
    private static Dictionary<string, string> ThreadNames()
    {
        var names = new Dictionary<string, string>();
        if (!Directory.Exists("/proc/self/task"))
            return names;
        foreach (var dir in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                names[Path.GetFileName(dir)] = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
            }
            catch (IOException)
            {
                // the thread ended meanwhile
            }
        }

        return names;
    }

    /// <summary>A thread's time on a CPU (schedstat's first field, in ns), or null.</summary>
    private static TimeSpan? ThreadCpu(string? thread)
    {
        if (thread is null)
            return null;
        try
        {
            var ns = long.Parse(File.ReadAllText($"/proc/self/task/{thread}/schedstat").Split(' ')[0], CultureInfo.InvariantCulture);
            return TimeSpan.FromTicks(ns / 100);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private sealed class Countdown
    {
        private int _left;
        private TaskCompletionSource _round = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Start(int count)
        {
            _round = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _left, count);
            return _round.Task;
        }

        public void Signal()
        {
            if (Interlocked.Decrement(ref _left) == 0)
                _round.TrySetResult();
        }
    }

    private sealed class Ping
    {
        public static readonly Ping Instance = new();
    }

    private sealed class Sink(Countdown done) : UntypedActor
    {
        protected override void OnReceive(object message) => done.Signal();
    }

    private sealed class Item(Countdown done) : IThreadPoolWorkItem
    {
        public void Execute() => done.Signal();
    }
}
