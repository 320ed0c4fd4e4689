using System.Collections.Concurrent;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// Up to three ActorSystems named actor-scheduler in one process, clustered over 127.0.0.1 on ports chosen at run
/// time, with the events of every node collected in one queue.
/// </summary>
internal sealed class TestCluster : IDisposable
{
    private static readonly TimeSpan FormTimeout = TimeSpan.FromSeconds(20);

    // TEST-ONLY timings, so that a hard-killed node is detected within ~2-3 s and downed by the split brain resolver
    // 1.5 s later (production keeps Akka's defaults or hocon/cluster.conf's: acceptable-heartbeat-pause 3 s and up,
    // stable-after 20 s). A terminated system does not leave the cluster (run-by-actor-system-terminate = off): for
    // the other nodes it is a crash, as a SIGKILL would be.
    private const string ClusterConfig = """
        akka {
          loglevel = WARNING
          stdout-loglevel = WARNING
          actor.provider = cluster
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
          coordinated-shutdown.run-by-actor-system-terminate = off
          coordinated-shutdown.terminate-actor-system = on
          cluster {
            downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            split-brain-resolver { active-strategy = keep-majority, stable-after = 1.5s }
            failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 2s, threshold = 8.0 }
            gossip-interval = 200ms
            leader-actions-interval = 200ms
            unreachable-nodes-reaper-interval = 250ms
            singleton.hand-over-retry-interval = 200ms
            singleton-proxy.singleton-identification-interval = 200ms
          }
        }
        """;

    private readonly string _extra;
    private readonly ActorSystem?[] _nodes = new ActorSystem?[3];

    public TestCluster(string extra = "")
    {
        _extra = extra;
    }

    public ConcurrentQueue<(int Node, PeriodicTaskEvent Event)> Events { get; } = new();

    /// <summary>The warnings logged on each node.</summary>
    public ConcurrentQueue<(int Node, string Message)> Warnings { get; } = new();

    /// <summary>The errors logged on each node.</summary>
    public ConcurrentQueue<(int Node, string Message)> Errors { get; } = new();

    public ActorSystem this[int index] => _nodes[index] ?? throw new InvalidOperationException($"node {index} is not running");

    public bool IsRunning(int index) => _nodes[index] is not null;

    /// <summary>Starts nodes <paramref name="indexes"/> (the first one the seed), and waits until all are Up everywhere.</summary>
    public Task FormAsync(params int[] indexes) => FormAsync(_ => "", indexes);

    /// <summary>As <see cref="FormAsync(int[])"/>, with configuration of each node's own (roles).</summary>
    public async Task FormAsync(Func<int, string> nodeConfig, params int[] indexes)
    {
        Address? seed = null;
        foreach (var i in indexes)
        {
            var system = StartUnjoined(i, nodeConfig(i));
            var cluster = Akka.Cluster.Cluster.Get(system);
            seed ??= cluster.SelfAddress;
            await cluster.JoinSeedNodesAsync([seed]);
        }

        await WaitUntilAsync(() => indexes.All(i =>
            Akka.Cluster.Cluster.Get(this[i]).State.Members.Count(m => m.Status == MemberStatus.Up) == indexes.Length), FormTimeout, "cluster formed");
    }

    /// <summary>Starts node <paramref name="index"/> without joining any cluster: it never becomes Up.</summary>
    public ActorSystem StartUnjoined(int index, string nodeConfig = "")
    {
        var config = ConfigurationFactory.ParseString(nodeConfig)
            .WithFallback(ConfigurationFactory.ParseString(_extra))
            .WithFallback(ConfigurationFactory.ParseString(ClusterConfig))
            .WithFallback(StateSerialization.Config)
            .WithFallback(PeriodicTaskSettings.DefaultConfig());
        var system = ActorSystem.Create("actor-scheduler", config);
        var sink = system.ActorOf(Props.Create(() => new EventSink(index, Events, Warnings, Errors)), "event-sink");
        system.EventStream.Subscribe(sink, typeof(PeriodicTaskEvent));
        system.EventStream.Subscribe(sink, typeof(Akka.Event.Warning));
        system.EventStream.Subscribe(sink, typeof(Akka.Event.Error));
        _nodes[index] = system;
        return system;
    }

    /// <summary>A crash: the node stops without leaving; the others must detect and down it.</summary>
    public async Task KillAsync(int index)
    {
        var system = this[index];
        _nodes[index] = null;
        await system.Terminate();
    }

    /// <summary>A graceful leave (CoordinatedShutdown: the singleton hands over, then the system terminates).</summary>
    public async Task LeaveAsync(int index)
    {
        var system = this[index];
        _nodes[index] = null;
        await Akka.Cluster.Cluster.Get(system).LeaveAsync();
        await system.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeout.TotalSeconds:F0} s waiting for: {what}");
            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        var running = _nodes.Where(n => n is not null).Select(n => n!.Terminate()).ToArray();
        Task.WaitAll(running, TimeSpan.FromSeconds(20));
        Array.Clear(_nodes);
    }

    private sealed class EventSink : ReceiveActor
    {
        public EventSink(
            int node, ConcurrentQueue<(int, PeriodicTaskEvent)> events, ConcurrentQueue<(int, string)> warnings, ConcurrentQueue<(int, string)> errors)
        {
            Receive<PeriodicTaskEvent>(e => events.Enqueue((node, e)));
            Receive<Akka.Event.Warning>(w => warnings.Enqueue((node, w.Message?.ToString() ?? "")));
            Receive<Akka.Event.Error>(e => errors.Enqueue((node, e.Message?.ToString() ?? "")));
        }
    }
}

/// <summary>Counts runs in flight across all nodes of one process, and the most ever seen at once.</summary>
internal sealed class RunTracker
{
    private int _current;
    private int _max;

    public int Max => Volatile.Read(ref _max);

    /// <summary>A run body that takes <paramref name="duration"/> and ignores cancellation (the worst case).</summary>
    public async ValueTask RunAsync(TimeSpan duration)
    {
        var now = Interlocked.Increment(ref _current);
        int seen;
        while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen)
        {
        }

        try
        {
            await Task.Delay(duration, CancellationToken.None);
        }
        finally
        {
            Interlocked.Decrement(ref _current);
        }
    }
}
