namespace ActorScheduler.Benchmarks.Engines;

/// <summary>
/// What a .NET user writes by hand: one async loop per task around a <see cref="System.Threading.PeriodicTimer"/>.
/// The loop awaits the body, so a run never overlaps the last one (ticks passed meanwhile coalesce into one).
/// </summary>
public sealed class PeriodicTimerEngine : IEngine
{
    private readonly CancellationTokenSource _stop = new();
    private EngineSpec? _spec;
    private TaskBody? _body;

    public string Name => EngineNames.PeriodicTimer;

    public Task PrepareAsync(EngineSpec spec, TaskBody body)
    {
        _spec = spec;
        _body = body;
        return Task.CompletedTask;
    }

    public Task StartAsync(long epoch, DateTimeOffset epochUtc)
    {
        var spec = _spec!;
        // Every timer is created here, at the epoch, so that each loop's phase is the start (as a user writes it).
        var timers = new PeriodicTimer[spec.Tasks];
        for (var i = 0; i < spec.Tasks; i++)
            timers[i] = new PeriodicTimer(spec.Period);
        for (var i = 0; i < spec.Tasks; i++)
            _ = RunLoop(i, timers[i], spec, _body!, _stop.Token);
        return Task.CompletedTask;
    }

    private static async Task RunLoop(int index, PeriodicTimer timer, EngineSpec spec, TaskBody body, CancellationToken stop)
    {
        await Task.Yield();
        using var owned = timer;
        try
        {
            if (spec.FirstRunAtStart)
                await body(index, Occurrence.None, stop).ConfigureAwait(false);
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
                await body(index, Occurrence.None, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        return ValueTask.CompletedTask;
    }
}
