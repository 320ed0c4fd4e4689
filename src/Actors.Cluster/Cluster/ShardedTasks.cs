using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace ActorScheduler.Cluster;

/// <summary>What a node needs to reach, and on nodes of the role to host, the buckets of one role's cluster tasks.</summary>
/// <param name="SetName">The task set.</param>
/// <param name="Role">The role ("" = any node).</param>
/// <param name="TypeName">The shard region's type name, the same on every node.</param>
/// <param name="Shards">actor-scheduler.cluster.shards: the number of buckets tasks are hashed into.</param>
/// <param name="Buckets">The non-empty buckets, kept alive by <see cref="BucketStarter"/>.</param>
/// <param name="TaskOrder">The role's task names in registration order (the order of merged stats).</param>
/// <param name="Hosts">This node has the role: it starts a shard region (and may host buckets), else a proxy.</param>
/// <param name="EntityProps">The props of a bucket's entity, by entity id.</param>
/// <param name="Settings">Sharding settings of the region (docs/architecture.md, "Sharded cluster tasks").</param>
/// <param name="Allocation">Where shards go, and when they move.</param>
internal sealed record ShardedRole(
    string SetName,
    string Role,
    string TypeName,
    int Shards,
    IReadOnlyList<int> Buckets,
    IReadOnlyList<string> TaskOrder,
    bool Hosts,
    Func<string, Props> EntityProps,
    ClusterShardingSettings Settings,
    IShardAllocationStrategy Allocation);

/// <summary>
/// INTERNAL API. The local face of one role's sharded cluster tasks (ClusterTaskSet.ClusterTasks[role]): starts the
/// role's shard region (or proxy), then answers as one manager would. GetTaskStats and GetRunCounts ask every bucket
/// at once and answer one merged report; pause, resume, trigger, changes and run queries go to the bucket of their task;
/// StopTasks and FlushState go to every bucket. An unknown task gets the manager's not-found failure, suggesting among all buckets.
/// </summary>
internal sealed class ShardedTasks : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    /// <summary>How long a bucket may take to answer (a bucket being moved answers once it has started elsewhere).</summary>
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan RetryStartAfter = TimeSpan.FromSeconds(2);

    private readonly ShardedRole _role;
    private readonly SortedSet<int> _buckets;
    private readonly Dictionary<string, int> _order;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _region = ActorRefs.Nobody;

    public ShardedTasks(ShardedRole role)
    {
        _role = role;
        _buckets = new SortedSet<int>(role.Buckets);
        _order = role.TaskOrder.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        Starting();
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ShardedRole role) => Akka.Actor.Props.Create(() => new ShardedTasks(role));

    protected override void PreStart() => StartRegion();

    /// <summary>Waiting for the shard region: requests are stashed until it is there.</summary>
    private void Starting()
    {
        Receive<RegionStarted>(started =>
        {
            _region = started.Region;
            if (_role.Hosts)
                Context.ActorOf(BucketStarter.Props(_region, _role.Buckets), "bucket-starter");
            Become(Routing);
            Stash.UnstashAll();
        });
        Receive<RegionFailed>(failed =>
        {
            _log.Error(failed.Cause, "{0}: the shard region {1} did not start; retrying in {2}", _role.SetName, _role.TypeName,
                Durations.Format(RetryStartAfter));
            Timers.StartSingleTimer(RetryStart.Instance, RetryStart.Instance, RetryStartAfter);
        });
        Receive<RetryStart>(_ => StartRegion());
        ReceiveAny(_ => Stash.Stash());
    }

    private void Routing()
    {
        Receive<GetTaskStats>(_ => AskAll(GetTaskStats.Instance, GetTaskStats.Instance, Sender));
        Receive<PauseTask>(pause => Route(pause.Task, pause, Sender));
        Receive<ResumeTask>(resume => Route(resume.Task, resume, Sender));
        Receive<TriggerTask>(trigger => Route(trigger.Task, trigger, Sender));
        Receive<GetRecentRuns>(query => Route(query.Task, query, Sender));
        Receive<GetRuns>(query => Route(query.Task, query, Sender));
        Receive<GetRunCounts>(query => AskAll(query, query, Sender));
        Receive<ChangeTasks>(OnChange);
        Receive<StopTasks>(_ => AskAll(StopTasks.Instance, StopTasks.Instance, Sender));
        Receive<FlushState>(_ => AskAll(FlushState.Instance, FlushState.Instance, Sender));
        Receive<BucketAnswered>(answered => answered.ReplyTo.Tell(answered.Answer));
        Receive<BucketRefused>(OnRefused);
        Receive<BucketsAnswered>(OnAllAnswered);
        Receive<BucketsFailed>(failed => failed.ReplyTo.Tell(new Status.Failure(failed.Purpose is CheckNotFound { Error: { } e } ? e : failed.Cause)));
    }

    private void StartRegion()
    {
        try
        {
            var sharding = ClusterSharding.Get(Context.System);
            var started = _role.Hosts
                ? sharding.StartAsync(_role.TypeName, _role.EntityProps, _role.Settings, BucketMessageExtractor.Instance, _role.Allocation, HandOver.Instance)
                : sharding.StartProxyAsync(_role.TypeName, _role.Role, BucketMessageExtractor.Instance);
            started.PipeTo(Self, success: region => new RegionStarted(region), failure: e => new RegionFailed(e));
        }
        catch (Exception e)
        {
            Self.Tell(new RegionFailed(e));
        }
    }

    /// <summary>
    /// A change goes whole to one bucket: changes of tasks of several buckets are refused (they could not be all or
    /// nothing), and so are additions and new bodies (they could not cross the network).
    /// </summary>
    private void OnChange(ChangeTasks change)
    {
        if (change.Changes is null || change.Changes.Any(c => c is null))
        {
            Sender.Tell(new Status.Failure(new ArgumentNullException(nameof(ChangeTasks.Changes))));
            return;
        }

        if (change.Changes.Count == 0)
        {
            Sender.Tell(new TasksChanged(_role.SetName, [], [], []));
            return;
        }

        if (change.Changes.FirstOrDefault(c => c is AddTask || c is UpdateTask { Body: not null }) is { } withBody)
        {
            // The bucket may be on another node, and a task's body cannot cross the network.
            Sender.Tell(new Status.Failure(new ArgumentException(
                $"'{withBody.Task}': with distribution = sharded, cluster tasks cannot be added, nor their bodies replaced, at run time " +
                "(the bucket may run on another node, and a body cannot cross the network): add them to the set every node starts.",
                nameof(ChangeTasks.Changes))));
            return;
        }

        var buckets = change.Changes.Select(c => BucketOf(c.Task)).Distinct().ToList();
        if (buckets.Count > 1)
        {
            Sender.Tell(new Status.Failure(new ArgumentException(
                "these changes concern cluster tasks of different buckets (distribution = sharded): send them separately.", nameof(ChangeTasks.Changes))));
            return;
        }

        Route(change.Changes[0].Task, change, Sender);
    }

    private void Route(string? task, object message, IActorRef replyTo)
    {
        task ??= "";
        var bucket = BucketOf(task);
        if (!_buckets.Contains(bucket))
        {
            // No task of the set hashes there: not found, without starting an empty bucket.
            AskAll(GetTaskStats.Instance, new CheckNotFound(task, null), replyTo);
            return;
        }

        _region.Ask<object>(Envelope(bucket, message), AskTimeout).PipeTo(
            Self, success: answer => new BucketAnswered(replyTo, answer), failure: e => new BucketRefused(replyTo, task, Unwrap(e)));
    }

    /// <summary>
    /// A bucket's not-found names the tasks of that bucket only, and a failure from another node loses its exception
    /// (the ask is cancelled): both are checked against the stats of every bucket.
    /// </summary>
    private void OnRefused(BucketRefused refused)
    {
        switch (refused.Cause)
        {
            case PeriodicTaskNotFoundException notFound:
                AskAll(GetTaskStats.Instance, new CheckNotFound(notFound.TaskName, notFound), refused.ReplyTo);
                break;
            case TaskCanceledException:
                AskAll(GetTaskStats.Instance, new CheckNotFound(refused.Task, refused.Cause), refused.ReplyTo);
                break;
            default:
                refused.ReplyTo.Tell(new Status.Failure(refused.Cause));
                break;
        }
    }

    private void OnAllAnswered(BucketsAnswered answered)
    {
        switch (answered.Purpose)
        {
            case GetTaskStats:
                answered.ReplyTo.Tell(Merge(answered.Answers));
                break;
            case StopTasks:
                answered.ReplyTo.Tell(new TasksStopped(_role.SetName, answered.Answers.OfType<TasksStopped>().Sum(s => s.StillRunning)));
                break;
            case FlushState:
                answered.ReplyTo.Tell(StateFlushed.Instance);
                break;
            case GetRunCounts:
                answered.ReplyTo.Tell(RunCounts.Sum(_role.SetName, answered.Answers.OfType<RunCountsReport>()));
                break;
            case CheckNotFound check:
                var report = Merge(answered.Answers);
                if (report.Tasks.All(t => t.Task != check.Task))
                    answered.ReplyTo.Tell(new Status.Failure(NotFound(check.Task, report)));
                else if (check.Error is not null)
                    answered.ReplyTo.Tell(new Status.Failure(check.Error));
                else
                    answered.ReplyTo.Tell(new Status.Failure(new TaskSetUnavailableException(
                        $"task set '{_role.SetName}': task '{check.Task}' answered from an unexpected bucket.")));
                break;
        }
    }

    /// <summary>Asks every bucket at once; one answer to <paramref name="replyTo"/> once all have answered.</summary>
    private void AskAll(object request, object purpose, IActorRef replyTo)
    {
        var asks = _buckets.Select(b => _region.Ask<object>(Envelope(b, request), AskTimeout)).ToArray();
        Task.WhenAll(asks).PipeTo(
            Self, success: answers => new BucketsAnswered(replyTo, purpose, answers), failure: e => new BucketsFailed(replyTo, purpose, Unwrap(e)));
    }

    private TaskStatsReport Merge(IReadOnlyList<object> answers)
    {
        var reports = answers.OfType<TaskStatsReport>().ToList();
        var tasks = reports.SelectMany(r => r.Tasks)
            .OrderBy(t => _order.GetValueOrDefault(t.Task, int.MaxValue))
            .ThenBy(t => t.Task, StringComparer.Ordinal)
            .ToList();
        return new TaskStatsReport(_role.SetName, reports.Count == 0 ? -1 : reports.Max(r => r.CurrentTick), tasks);
    }

    /// <summary>The failure a manager gives for an unknown task, suggesting the closest name of the whole role.</summary>
    private PeriodicTaskNotFoundException NotFound(string task, TaskStatsReport report)
    {
        var closest = Suggestions.Closest(task, report.Tasks.Select(t => t.Task));
        return new PeriodicTaskNotFoundException(_role.SetName, task,
            $"no task named '{task}' in task set '{_role.SetName}'{(closest is null ? "" : $"; did you mean '{closest}'?")}");
    }

    private int BucketOf(string? task) => TaskBuckets.Of(task ?? "", _role.Shards);

    private static ShardingEnvelope Envelope(int bucket, object message) => new(TaskBuckets.EntityId(bucket), message);

    private static Exception Unwrap(Exception e) => e is AggregateException { InnerException: { } inner } ? inner : e;

    private sealed record RegionStarted(IActorRef Region);

    private sealed record RegionFailed(Exception Cause);

    private sealed record RetryStart
    {
        public static readonly RetryStart Instance = new();
    }

    /// <summary>A bucket's answer to a request routed to it.</summary>
    private sealed record BucketAnswered(IActorRef ReplyTo, object Answer);

    /// <summary>A bucket's failure (or no answer in time) to a request routed to it.</summary>
    private sealed record BucketRefused(IActorRef ReplyTo, string Task, Exception Cause);

    /// <summary>Every bucket's answer to a request sent to all of them for <paramref name="Purpose"/>.</summary>
    private sealed record BucketsAnswered(IActorRef ReplyTo, object Purpose, IReadOnlyList<object> Answers);

    private sealed record BucketsFailed(IActorRef ReplyTo, object Purpose, Exception Cause);

    /// <summary>Is <paramref name="Task"/> in any bucket? Not found: the manager's failure; found: <paramref name="Error"/>.</summary>
    private sealed record CheckNotFound(string Task, Exception? Error);
}
