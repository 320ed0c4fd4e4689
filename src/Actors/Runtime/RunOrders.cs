using ActorScheduler.Scheduling;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. The <see cref="Run"/> of each tick, made in batches well before the tick. The mailbox of every task due
/// on a tick refers to its Run: made at dispatch it would be a young object referred to by long-lived mailboxes and
/// runners, which makes every garbage collection scan them all (docs/architecture.md, "Runs made ahead").
/// </summary>
internal sealed class RunOrders(TickClock clock, DateTimeOffset start, long tickBase = 0)
{
    private const int BatchSize = 128;

    private Run[] _current = [];
    private Run[] _next = [];
    private long _first;

    /// <summary>The Run of <paramref name="tick"/> (numbered from <c>tickBase</c> outside): the same instance for every task due on it.</summary>
    public Run For(long tick)
    {
        if (tick >= _first && tick < _first + _current.Length)
            return _current[tick - _first];
        var following = _first + _current.Length;
        if (_next.Length > 0 && tick >= following && tick < following + _next.Length)
            (_current, _first) = (_next, following);
        else
            (_current, _first) = (Make(tick), tick);
        _next = Make(_first + BatchSize);
        return _current[tick - _first];
    }

    private Run[] Make(long firstTick)
    {
        var runs = new Run[BatchSize];
        for (var i = 0; i < runs.Length; i++)
            runs[i] = new Run(firstTick + i + tickBase, start + clock.OffsetOf(firstTick + i));
        return runs;
    }
}
