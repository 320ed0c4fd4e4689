using System.Diagnostics;
using ActorScheduler.Configuration;
using Akka.Actor;
using Akka.Coordination;
using Akka.Event;

namespace ActorScheduler.Coordination;

/// <summary>
/// An Akka.Coordination lease kept in the state store's database (actor-scheduler.state: provider and
/// connection-string; SQLite or PostgreSQL), for use-lease of the cluster singleton and sharding
/// (akka.coordination.lease.actor-scheduler in cluster-reference.conf).
/// <para>
/// The row's expiry (now + heartbeat-timeout, by the database's clock) decides who may acquire; the holder renews every
/// heartbeat-interval. <see cref="CheckLease"/> is true only until heartbeat-timeout minus a margin (the larger of
/// heartbeat-interval and a tenth of heartbeat-timeout) after the start of the last successful acquire or renewal,
/// measured with the monotonic clock, which keeps running while the process is paused: a node frozen past that
/// deadline finds the lease lost when it wakes, before the database's row can expire and be taken by another node.
/// </para>
/// </summary>
internal sealed class SqlLease : Lease
{
    private readonly ILoggingAdapter _log;
    private readonly SqlLeaseStore? _store;
    private readonly string? _configError;
    private readonly long _ttlMs;
    private readonly long _validTicks;
    private readonly long _intervalTicks;
    private readonly TimeSpan _margin;
    private readonly TimeSpan _operationTimeout;
    private readonly SemaphoreSlim _operations = new(1, 1);
    private Holding? _current;
    private long? _lastVersion;
    private volatile bool _renewalsSuspended;

    /// <summary>The constructor Akka's LeaseProvider calls (lease-class).</summary>
    public SqlLease(LeaseSettings settings, ExtendedActorSystem system)
        : base(settings)
    {
        _log = Logging.GetLogger(system, "SqlLease");
        var timeouts = settings.TimeoutSettings;
        _ttlMs = (long)timeouts.HeartbeatTimeout.TotalMilliseconds;
        _margin = TimeSpan.FromTicks(Math.Max(timeouts.HeartbeatInterval.Ticks, timeouts.HeartbeatTimeout.Ticks / 10));
        _validTicks = StopwatchTicks(timeouts.HeartbeatTimeout - _margin);
        _intervalTicks = StopwatchTicks(timeouts.HeartbeatInterval);
        _operationTimeout = timeouts.OperationTimeout > TimeSpan.Zero ? timeouts.OperationTimeout : TimeSpan.FromSeconds(5);
        try
        {
            // Errors are kept for Acquire to report: a constructor that threw would stop the singleton manager or shard.
            var config = system.Settings.Config;
            var root = config.HasPath("actor-scheduler") ? config.GetConfig("actor-scheduler") : Akka.Configuration.Config.Empty;
            var state = StateSettings.Read(new ConfigReader(root, "actor-scheduler").Child("state"));
            _store = SqlLeaseStore.Create(state.Provider, state.ConnectionString, _operationTimeout);
        }
        catch (Exception e) when (e is PeriodicTaskConfigurationException or ArgumentException)
        {
            _configError = $"actor-scheduler.state does not name a database it can use: {e.Message}";
        }

        // An ActorSystem that ended without releasing (a crash, a downed node) stops renewing: the row expires after
        // heartbeat-timeout, as when its process ends. Not released: a body that ignores cancellation may still run.
        system.RegisterOnTermination(() => EndCurrent());
    }

    /// <summary>Test hook: a holder that stops renewing, as a frozen process does (its deadline still passes).</summary>
    internal bool RenewalsSuspended
    {
        get => _renewalsSuspended;
        set => _renewalsSuspended = value;
    }

    public override Task<bool> Acquire() => Acquire(null);

    public override Task<bool> Acquire(Action<Exception>? leaseLostCallback) => Task.Run(() => AcquireAsync(leaseLostCallback));

    public override Task<bool> Release() => Task.Run(ReleaseAsync);

    public override bool CheckLease()
    {
        var holding = Volatile.Read(ref _current);
        if (holding is null || holding.Ended)
            return false;
        if (Stopwatch.GetTimestamp() < holding.Deadline)
            return true;
        ThreadPool.QueueUserWorkItem(_ => Lose(holding, DeadlinePassed));
        return false;
    }

    private string Name => $"Lease [{Settings.LeaseName}] of owner [{Settings.OwnerName}]";

    private string DeadlinePassed =>
        $"no renewal succeeded within heartbeat-timeout ({Seconds(Settings.TimeoutSettings.HeartbeatTimeout)}) minus a margin of {Seconds(_margin)} " +
        "(the process was paused, or the database did not answer)";

    private async Task<bool> AcquireAsync(Action<Exception>? onLost)
    {
        if (_store is null)
            throw new LeaseException($"{Name} cannot be acquired: {_configError}");
        using var timeout = new CancellationTokenSource(_operationTimeout);
        try
        {
            await _operations.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException e)
        {
            throw Failure("could not be acquired", e, timeout);
        }

        try
        {
            var started = Stopwatch.GetTimestamp();
            var version = await _store.TryAcquireAsync(Settings.LeaseName, Settings.OwnerName, _ttlMs, timeout.Token);
            var previous = Volatile.Read(ref _current);
            if (version is null)
            {
                if (previous is not null)
                    Lose(previous, await WhyNotOursAsync(timeout.Token));
                _log.Debug("{0} is held by another owner", Name);
                return false;
            }

            _lastVersion = version;
            if (Stopwatch.GetTimestamp() - started >= _validTicks)
                throw new LeaseException(
                    $"{Name} was acquired in the {_store.Database} but its answer came after heartbeat-timeout minus the margin: not held.");
            var holding = new Holding(version.Value, started + _validTicks, onLost);
            if (previous is not null && previous.End())
                previous.Stop.Cancel();
            Volatile.Write(ref _current, holding);
            _ = KeepAsync(holding);
            if (previous is null)
                _log.Info("{0} acquired (version {1}) in the {2}", Name, version, _store.Database);
            return true;
        }
        catch (Exception e) when (e is not LeaseException)
        {
            throw Failure("could not be acquired", e, timeout);
        }
        finally
        {
            _operations.Release();
        }
    }

    private async Task<bool> ReleaseAsync()
    {
        EndCurrent(); // stops renewing at once
        if (_store is null)
            return true;
        using var timeout = new CancellationTokenSource(_operationTimeout);
        try
        {
            await _operations.WaitAsync(timeout.Token);
            try
            {
                var held = EndCurrent(); // an acquire that ended while this release waited
                await _store.ReleaseAsync(Settings.LeaseName, Settings.OwnerName, _lastVersion, timeout.Token);
                if (held)
                    _log.Info("{0} released", Name);
                else
                    _log.Debug("{0} released (it was not held)", Name);
                return true;
            }
            finally
            {
                _operations.Release();
            }
        }
        catch (Exception e)
        {
            _log.Warning("{0}; it expires at most heartbeat-timeout after its last renewal.", Failure("could not be released", e, timeout).Message);
            return false;
        }
    }

    private bool EndCurrent()
    {
        var holding = Interlocked.Exchange(ref _current, null);
        if (holding is null || !holding.End())
            return false;
        holding.Stop.Cancel();
        return true;
    }

    /// <summary>Renews every heartbeat-interval and declares the lease lost when its local deadline passes.</summary>
    private async Task KeepAsync(Holding holding)
    {
        var nextRenewal = Stopwatch.GetTimestamp() + _intervalTicks;
        Task renewal = Task.CompletedTask;
        try
        {
            while (!holding.Ended)
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= holding.Deadline)
                {
                    Lose(holding, DeadlinePassed);
                    return;
                }

                if (now >= nextRenewal)
                {
                    nextRenewal = now + _intervalTicks;
                    if (!_renewalsSuspended && renewal.IsCompleted)
                        renewal = RenewAsync(holding);
                }

                var wait = Math.Min(nextRenewal, holding.Deadline) - Stopwatch.GetTimestamp();
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(wait, 0) / (double)Stopwatch.Frequency) + TimeSpan.FromMilliseconds(1), holding.Stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // released, lost or replaced
        }
    }

    private async Task RenewAsync(Holding holding)
    {
        using var timeout = new CancellationTokenSource(_operationTimeout);
        try
        {
            await _operations.WaitAsync(timeout.Token);
            try
            {
                if (holding.Ended)
                    return;
                var started = Stopwatch.GetTimestamp();
                if (await _store!.RenewAsync(Settings.LeaseName, Settings.OwnerName, holding.Version, _ttlMs, timeout.Token))
                    holding.Extend(started + _validTicks);
                else
                    Lose(holding, await WhyNotOursAsync(timeout.Token));
            }
            finally
            {
                _operations.Release();
            }
        }
        catch (Exception e)
        {
            if (!holding.Ended)
                _log.Warning("{0}; retrying until heartbeat-timeout minus the margin has passed.", Failure("could not be renewed", e, timeout).Message);
        }
    }

    private async Task<string> WhyNotOursAsync(CancellationToken ct)
    {
        try
        {
            return await _store!.ReadAsync(Settings.LeaseName, ct) switch
            {
                null => "its row is gone from the database",
                var (owner, remaining) when owner != Settings.OwnerName && remaining > 0 => $"the database shows owner [{owner}]",
                var (_, remaining) when remaining <= 0 => "it expired in the database",
                _ => "the database holds a newer acquisition by the same owner name (another process?)",
            };
        }
        catch (Exception)
        {
            return "the database no longer shows this holding";
        }
    }

    /// <summary>Ends <paramref name="holding"/> as lost: the lost callback is called once, CheckLease is false.</summary>
    private void Lose(Holding holding, string why)
    {
        if (!holding.End())
            return;
        Interlocked.CompareExchange(ref _current, null, holding);
        holding.Stop.Cancel();
        var error = new LeaseException($"{Name} lost: {why}.");
        _log.Warning(error.Message);
        try
        {
            holding.OnLost?.Invoke(error);
        }
        catch (Exception e)
        {
            _log.Error(e, "{0}: the lease-lost callback failed", Name);
        }
    }

    private LeaseException Failure(string what, Exception e, CancellationTokenSource timeout)
    {
        var cause = timeout.IsCancellationRequested
            ? $"no answer within lease-operation-timeout ({Seconds(_operationTimeout)})"
            : string.Join(": ", Causes(e).Select(m => m.TrimEnd('.')).Distinct());
        return new LeaseException($"{Name} {what} in the {_store?.Database}: {cause}", e);
    }

    private static IEnumerable<string> Causes(Exception e)
    {
        for (var (current, depth) = (e, 0); current is not null && depth < 3; (current, depth) = (current.InnerException, depth + 1))
            yield return current is AggregateException { InnerException: { } inner } ? inner.Message : current.Message;
    }

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}s";

    private static long StopwatchTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>One acquisition: its version and local deadline; ended once (lost, released or replaced).</summary>
    private sealed class Holding(long version, long deadline, Action<Exception>? onLost)
    {
        private long _deadline = deadline;
        private int _ended;

        public long Version { get; } = version;

        public Action<Exception>? OnLost { get; } = onLost;

        public CancellationTokenSource Stop { get; } = new();

        /// <summary>Stopwatch timestamp until which the lease is certainly held.</summary>
        public long Deadline => Interlocked.Read(ref _deadline);

        public bool Ended => Volatile.Read(ref _ended) == 1;

        public void Extend(long deadline)
        {
            long seen;
            do
            {
                seen = Interlocked.Read(ref _deadline);
                if (deadline <= seen)
                    return;
            }
            while (Interlocked.CompareExchange(ref _deadline, deadline, seen) != seen);
        }

        /// <summary>True for the first caller only.</summary>
        public bool End() => Interlocked.Exchange(ref _ended, 1) == 0;
    }
}
