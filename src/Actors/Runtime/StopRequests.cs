using ActorScheduler.Messages;
using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Those who asked a manager to stop (<see cref="StopTasks"/>), answered together with the runs still in
/// flight once the set has stopped, and the shutdown-timeout timer that ends the wait for runs in flight.
/// </summary>
internal sealed class StopRequests(string setName, IWithTimers owner)
{
    private readonly List<IActorRef> _waiting = [];

    public void Add(IActorRef requester) => _waiting.Add(requester);

    /// <summary>Waits for the runs in flight at most <paramref name="timeout"/>: then the owner gets <see cref="TimedOut"/>.</summary>
    public void WaitAtMost(TimeSpan timeout) => owner.Timers.StartSingleTimer(TimedOut.Instance, TimedOut.Instance, timeout);

    /// <summary>The set has stopped: every requester gets <see cref="TasksStopped"/> with the runs still in flight.</summary>
    public void Stopped(int inFlight)
    {
        owner.Timers.Cancel(TimedOut.Instance);
        foreach (var requester in _waiting)
            requester.Tell(new TasksStopped(setName, inFlight));
        _waiting.Clear();
    }

    internal sealed record TimedOut
    {
        public static readonly TimedOut Instance = new();
    }
}
