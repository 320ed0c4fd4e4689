using ActorScheduler.Testing;
using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Those who asked to hear of a tick (<see cref="NotifyWhenTicked"/>): each gets <see cref="Ticked"/> once
/// the manager has taken a tick at least as high. Tick numbers here are the ones shown outside.
/// </summary>
internal sealed class TickWaiters
{
    private readonly List<(long Tick, IActorRef Requester)> _waiting = [];

    /// <summary>Answers at once when <paramref name="current"/> (null before the first tick) has reached the tick; else waits.</summary>
    public void Add(NotifyWhenTicked request, IActorRef requester, long? current)
    {
        if (current is { } tick && tick >= request.Tick)
            requester.Tell(new Ticked(tick));
        else
            _waiting.Add((request.Tick, requester));
    }

    /// <summary>Tick <paramref name="number"/> was taken: answers every waiter it reaches.</summary>
    public void Ticked(long number)
    {
        for (var i = _waiting.Count - 1; i >= 0; i--)
        {
            if (_waiting[i].Tick > number)
                continue;
            _waiting[i].Requester.Tell(new Ticked(number));
            _waiting.RemoveAt(i);
        }
    }
}
