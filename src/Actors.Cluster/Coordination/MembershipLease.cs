using System.Diagnostics;
using Akka.Actor;
using Akka.Coordination;
using Akka.Event;

namespace ActorScheduler.Coordination;

/// <summary>
/// An Akka.Coordination lease without a database, for use-lease of the cluster singleton and sharding when there is no
/// state store (akka.coordination.lease.actor-scheduler-membership in cluster-reference.conf): held while the split
/// brain resolver, deciding on this node's view, would keep this node's side (<see cref="ResolverSide"/>), and lost once
/// that has not been so for heartbeat-timeout, checked every heartbeat-interval. A side cut off from the one the
/// resolver keeps so stops its singleton and buckets long before the kept side, which waits stable-after, downs it
/// (docs/cluster.md, "Never two runs of one cluster task").
/// </summary>
internal sealed class MembershipLease : Lease
{
    private readonly ILoggingAdapter _log;
    private readonly Func<bool>? _kept;
    private readonly TimeSpan _interval;
    private readonly long _timeoutTicks;
    private Holding? _current;

    /// <summary>The constructor Akka's LeaseProvider calls (lease-class).</summary>
    public MembershipLease(LeaseSettings settings, ExtendedActorSystem system)
        : this(settings, system, ResolverSide.Read(system.Settings.Config) is { } side
            ? () => side.Kept(Akka.Cluster.Cluster.Get(system).State)
            : null)
    {
    }

    /// <summary><paramref name="kept"/>: whether this node's side is the one kept now; null when the resolver is not one the lease knows.</summary>
    internal MembershipLease(LeaseSettings settings, ActorSystem system, Func<bool>? kept)
        : base(settings)
    {
        _log = Logging.GetLogger(system, "MembershipLease");
        _kept = kept;
        var timeouts = settings.TimeoutSettings;
        _interval = timeouts.HeartbeatInterval > TimeSpan.Zero ? timeouts.HeartbeatInterval : TimeSpan.FromMilliseconds(250);
        _timeoutTicks = (long)(timeouts.HeartbeatTimeout.TotalSeconds * Stopwatch.Frequency);
        system.RegisterOnTermination(() => End());
    }

    private string Name => $"Lease [{Settings.LeaseName}] of owner [{Settings.OwnerName}]";

    public override Task<bool> Acquire() => Acquire(null);

    public override Task<bool> Acquire(Action<Exception>? leaseLostCallback)
    {
        if (_kept is null)
            return Task.FromException<bool>(new LeaseException(
                $"{Name} needs Akka's split brain resolver with keep-majority, keep-oldest, static-quorum or down-all " +
                "(akka.cluster.downing-provider-class, split-brain-resolver.active-strategy)."));
        if (!_kept())
        {
            _log.Debug("{0} not acquired: this node is not on the side the split brain resolver keeps", Name);
            return Task.FromResult(false);
        }

        var holding = new Holding(leaseLostCallback);
        Interlocked.Exchange(ref _current, holding)?.End();
        _ = WatchAsync(holding);
        return Task.FromResult(true);
    }

    public override Task<bool> Release()
    {
        End();
        return Task.FromResult(true);
    }

    public override bool CheckLease()
    {
        var holding = Volatile.Read(ref _current);
        return holding is { Ended: false } && (holding.CutOffSince is not { } since || Stopwatch.GetTimestamp() - since < _timeoutTicks);
    }

    private void End() => Interlocked.Exchange(ref _current, null)?.End();

    /// <summary>Checks the side every heartbeat-interval; loses the lease once it has not been kept for heartbeat-timeout.</summary>
    private async Task WatchAsync(Holding holding)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(holding.Stop.Token))
            {
                if (_kept!())
                {
                    holding.CutOffSince = null;
                    continue;
                }

                var now = Stopwatch.GetTimestamp();
                holding.CutOffSince ??= now;
                if (now - holding.CutOffSince < _timeoutTicks)
                    continue;
                if (Interlocked.CompareExchange(ref _current, null, holding) != holding)
                    return;
                holding.End();
                var reason = $"{Name} lost: this node has not been on the side the split brain resolver keeps for heartbeat-timeout " +
                             $"({Settings.TimeoutSettings.HeartbeatTimeout.TotalSeconds:0.###} s)";
                _log.Warning("{0}", reason);
                holding.OnLost?.Invoke(new LeaseException(reason));
                return;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class Holding(Action<Exception>? onLost)
    {
        public Action<Exception>? OnLost { get; } = onLost;

        public CancellationTokenSource Stop { get; } = new();

        public bool Ended => Stop.IsCancellationRequested;

        /// <summary>Since when (monotonic clock) the side has not been kept; null while it is.</summary>
        public long? CutOffSince
        {
            get => Volatile.Read(ref _cutOffSince) is var v && v == 0 ? null : v;
            set => Volatile.Write(ref _cutOffSince, value ?? 0);
        }

        private long _cutOffSince;

        public void End()
        {
            try
            {
                Stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
