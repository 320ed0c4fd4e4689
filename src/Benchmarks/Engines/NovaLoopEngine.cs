using System.Diagnostics;

namespace ActorScheduler.Benchmarks.Engines;

/// <summary>
/// Nova's own model: one looping call every periodic interval (T) that walks a skip table and runs each due task
/// inline, one after another (ticks_between_runs = 0 here: every task runs every tick). The loop is fixed-rate on the
/// monotonic clock; when a pass overruns the interval, the next pass starts at once (oslo's FixedIntervalLoopingCall).
/// </summary>
public sealed class NovaLoopEngine : IEngine
{
    private readonly CancellationTokenSource _stop = new();
    private EngineSpec? _spec;
    private TaskBody? _body;

    public string Name => EngineNames.NovaLoop;

    public Task PrepareAsync(EngineSpec spec, TaskBody body)
    {
        _spec = spec;
        _body = body;
        return Task.CompletedTask;
    }

    public Task StartAsync(long epoch, DateTimeOffset epochUtc)
    {
        var spec = _spec!;
        var body = _body!;
        var stop = _stop.Token;
        var thread = new Thread(() => Loop(spec, body, epoch, stop)) { IsBackground = true, Name = "nova-looping-call" };
        thread.Start();
        return Task.CompletedTask;
    }

    private static void Loop(EngineSpec spec, TaskBody body, long epoch, CancellationToken stop)
    {
        var ticksToSkip = new int[spec.Tasks]; // nova's _ticks_to_skip; ticks_between_runs = 0 for every task
        var next = spec.FirstRunAtStart ? TimeSpan.Zero : spec.Period;
        while (!stop.IsCancellationRequested)
        {
            var wait = next - Stopwatch.GetElapsedTime(epoch);
            if (wait > TimeSpan.Zero)
            {
                Thread.Sleep(wait);
                continue;
            }

            for (var i = 0; i < ticksToSkip.Length; i++)
            {
                if (ticksToSkip[i] > 0)
                {
                    ticksToSkip[i]--;
                    continue;
                }

                ticksToSkip[i] = 0;
                try
                {
                    var run = body(i, Occurrence.None, stop);
                    if (!run.IsCompletedSuccessfully)
                        run.AsTask().GetAwaiter().GetResult();
                }
                catch (Exception) when (!stop.IsCancellationRequested)
                {
                    // raise_on_error = False: log and go on (nothing to log in a benchmark).
                }
            }

            next += spec.Period;
            var now = Stopwatch.GetElapsedTime(epoch);
            if (next < now) // the pass outlasted the interval: run again at once (the schedule slips)
                next = now;
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        return ValueTask.CompletedTask;
    }
}
