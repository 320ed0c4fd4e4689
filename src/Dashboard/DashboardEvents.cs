using System.Threading.Channels;
using ActorScheduler.Messages;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ActorScheduler.Dashboard;

/// <summary>
/// What the console learns from the ActorSystem's EventStream: it keeps the recent runs and hands each event, as JSON,
/// to the open event streams. Fed by <see cref="EventSubscriber"/>; read from request threads.
/// </summary>
internal sealed class DashboardEvents(IOptions<PeriodicTaskDashboardOptions> options)
{
    private readonly object _lock = new();
    private ImmutableSubscribers _subscribers = ImmutableSubscribers.Empty;

    public RecentRuns Runs { get; } = new(options.Value.RecentRuns);

    /// <summary>This node's address (null until the ActorSystem has started).</summary>
    public string? Node { get; private set; }

    /// <summary>The ActorSystem uses remoting: tasks may run on other nodes, and the node column matters.</summary>
    public bool Remote { get; private set; }

    /// <summary>The subscriber is in place: events are being received.</summary>
    public bool Receiving { get; private set; }

    internal void Started(Address address)
    {
        Node = address.ToString();
        Remote = address.Host is not null;
        Receiving = true;
    }

    public void Publish(PeriodicTaskEvent e)
    {
        Runs.Add(e, Node);
        var subscribers = _subscribers;
        if (subscribers.Items.Length > 0)
            subscribers.Send(e.SetName, EventJson.Of(e, Remote ? Node : null));
    }

    public void Publish(PeriodicTaskControlEvent e)
    {
        if (e is PeriodicTaskRemoved)
            Runs.Remove(e.SetName, e.Task);
        var subscribers = _subscribers;
        if (subscribers.Items.Length > 0)
            subscribers.Send(e.SetName, EventJson.Of(e));
    }

    /// <summary>A stream of the events of set <paramref name="set"/>, as JSON; a slow reader loses the oldest ones.</summary>
    public Subscription Subscribe(string set)
    {
        var subscription = new Subscription(this, set);
        lock (_lock)
            _subscribers = _subscribers.With(subscription);
        return subscription;
    }

    private void Unsubscribe(Subscription subscription)
    {
        lock (_lock)
            _subscribers = _subscribers.Without(subscription);
    }

    public int SubscriberCount => _subscribers.Items.Length;

    internal sealed class Subscription : IDisposable
    {
        private readonly DashboardEvents _owner;
        private readonly Channel<byte[]> _channel =
            Channel.CreateBounded<byte[]>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        public Subscription(DashboardEvents owner, string set)
        {
            _owner = owner;
            Set = set;
        }

        public string Set { get; }

        public ChannelReader<byte[]> Reader => _channel.Reader;

        internal void Write(byte[] json) => _channel.Writer.TryWrite(json);

        public void Dispose()
        {
            _owner.Unsubscribe(this);
            _channel.Writer.TryComplete();
        }
    }

    /// <summary>Copy-on-write list: publishing reads it without a lock.</summary>
    private sealed class ImmutableSubscribers(Subscription[] items)
    {
        public static readonly ImmutableSubscribers Empty = new([]);

        public Subscription[] Items { get; } = items;

        public ImmutableSubscribers With(Subscription s) => new([.. Items, s]);

        public ImmutableSubscribers Without(Subscription s) => new(Items.Where(i => i != s).ToArray());

        public void Send(string set, byte[] json)
        {
            foreach (var s in Items)
                if (s.Set == set)
                    s.Write(json);
        }
    }
}

/// <summary>Subscribes to run and control events on this node's EventStream and hands them to <see cref="DashboardEvents"/>.</summary>
internal sealed class EventSubscriber : ReceiveActor
{
    private readonly DashboardEvents _events;

    public EventSubscriber(DashboardEvents events)
    {
        _events = events;
        Receive<PeriodicTaskEvent>(e => _events.Publish(e));
        Receive<PeriodicTaskControlEvent>(e => _events.Publish(e));
    }

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(PeriodicTaskEvent));
        Context.System.EventStream.Subscribe(Self, typeof(PeriodicTaskControlEvent));
        _events.Started(((ExtendedActorSystem)Context.System).Provider.DefaultAddress);
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
}

/// <summary>
/// Creates the <see cref="EventSubscriber"/> when the host starts. Resolving Akka.Hosting's ActorSystem creates it if
/// Akka's own hosted service has not started yet, and the sets start in that service's start (after the ActorSystem
/// exists), so the subscriber is in place before the first tick whatever the order of registration.
/// </summary>
internal sealed class EventSubscriberService(IServiceProvider services, DashboardEvents events) : IHostedService
{
    private IActorRef? _subscriber;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var system = services.GetService<ActorSystem>();
        if (system is not null && !system.WhenTerminated.IsCompleted)
        {
            // Subscribe synchronously: the actor's PreStart may run after the first events, so subscribe it here too.
            _subscriber = system.ActorOf(Props.Create(() => new EventSubscriber(events)), "periodic-task-dashboard-" + Guid.NewGuid().ToString("N")[..8]);
            system.EventStream.Subscribe(_subscriber, typeof(PeriodicTaskEvent));
            system.EventStream.Subscribe(_subscriber, typeof(PeriodicTaskControlEvent));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _subscriber?.Tell(PoisonPill.Instance);
        return Task.CompletedTask;
    }
}
