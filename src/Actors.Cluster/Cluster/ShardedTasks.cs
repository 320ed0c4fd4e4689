using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace ActorScheduler.Cluster;

/// <summary>
/// INTERNAL API. The local face of one role's sharded cluster tasks (ClusterTaskSet.ClusterTasks[role]): starts the
/// role's shard region (or proxy), then answers as one manager would. GetTaskStats and GetRunCounts ask every bucket
/// at once and answer one merged report; pause, resume, trigger, changes and run queries go to the bucket of their task;
/// StopTasks and FlushState go to every bucket. An unknown task gets the manager's not-found failure, suggesting among all buckets.
/// An addition by type (with a state store) first lists its bucket in the <see cref="BucketTable"/>, which every node reads
/// every <see cref="ReadAddedEvery"/> (docs/cluster.md, "Adding cluster tasks at run time").
/// </summary>
internal sealed class ShardedTasks : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    /// <summary>How long a bucket may take to answer (a bucket being moved answers once it has started elsewhere).</summary>
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How often the buckets that received additions are read from the state store's database.</summary>
    public static readonly TimeSpan ReadAddedEvery = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan RetryStartAfter = TimeSpan.FromSeconds(2);

    private readonly ShardedRole _role;
    private readonly SortedSet<int> _buckets;
    private readonly HashSet<int> _listed = [];
    private readonly Dictionary<string, int> _order;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _region = ActorRefs.Nobody;
    private IActorRef _starter = ActorRefs.Nobody;
    private bool _readFailing;

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
                _starter = Context.ActorOf(BucketStarter.Props(_region, _role.Buckets), "bucket-starter");
            if (_role.Added is not null)
            {
                ReadAdded(null);
                Timers.StartPeriodicTimer(ReadAddedBuckets.Instance, ReadAddedBuckets.Instance, ReadAddedEvery);
            }

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
        Receive<GetTaskStats>(_ => AskAllListed(GetTaskStats.Instance, Sender));
        Receive<PauseTask>(pause => Route(pause.Task, pause, Sender));
        Receive<ResumeTask>(resume => Route(resume.Task, resume, Sender));
        Receive<TriggerTask>(trigger => Route(trigger.Task, trigger, Sender));
        Receive<GetRecentRuns>(query => Route(query.Task, query, Sender));
        Receive<GetRuns>(query => Route(query.Task, query, Sender));
        Receive<GetRunCounts>(query => AskAllListed(query, Sender));
        Receive<ChangeTasks>(OnChange);
        Receive<StopTasks>(_ => AskAllListed(StopTasks.Instance, Sender));
        Receive<FlushState>(_ => AskAllListed(FlushState.Instance, Sender));
        Receive<BucketAnswered>(answered => answered.ReplyTo.Tell(answered.Answer));
        Receive<BucketRefused>(OnRefused);
        Receive<BucketsAnswered>(OnAllAnswered);
        Receive<BucketsFailed>(failed => failed.ReplyTo.Tell(new Status.Failure(failed.Purpose is CheckNotFound { Error: { } e } ? e : failed.Cause)));
        Receive<ReadAddedBuckets>(_ => ReadAdded(null));
        Receive<AddedBucketsRead>(OnAddedRead);
        Receive<BucketListed>(listed =>
        {
            _listed.Add(listed.Bucket);
            Keep([listed.Bucket]);
            Route(listed.Change.Changes[0].Task, listed.Change, listed.ReplyTo);
        });
        Receive<BucketNotListed>(failed => failed.ReplyTo.Tell(new Status.Failure(new TaskSetUnavailableException(
            $"task set '{_role.SetName}': bucket {failed.Bucket} could not be listed in the {_role.Added!.Database} ({failed.Cause.Message}); " +
            "nothing was changed."))));
    }

    /// <summary>Asks every bucket, those listed in the table by now included (another node may just have listed one).</summary>
    private void AskAllListed(object request, IActorRef replyTo)
    {
        if (_role.Added is null)
            AskAll(request, request, replyTo);
        else
            ReadAdded(new PendingRoute(null, request, replyTo));
    }

    /// <summary>
    /// Reads the buckets listed in the table; <paramref name="then"/> is routed (or asked of all) once they are known, at
    /// once while reads fail (the timer's reads tell when the table answers again).
    /// </summary>
    private void ReadAdded(PendingRoute? then)
    {
        if (then is not null && _readFailing)
            Continue(then);
        else
            _role.Added!.ReadAsync().PipeTo(
                Self, success: buckets => new AddedBucketsRead(buckets, null, then), failure: e => new AddedBucketsRead([], Unwrap(e), then));
    }

    private void OnAddedRead(AddedBucketsRead read)
    {
        if (read.Error is { } error)
        {
            if (!_readFailing)
                _log.Warning("{0}: the buckets of tasks added at run time could not be read from the {1}: {2} (retrying every {3})",
                    _role.SetName, _role.Added!.Database, error.Message, Durations.Format(ReadAddedEvery));
            _readFailing = true;
        }
        else
        {
            if (_readFailing)
                _log.Info("{0}: the buckets of tasks added at run time are read again", _role.SetName);
            _readFailing = false;
            _listed.UnionWith(read.Buckets);
            Keep(read.Buckets);
        }

        if (read.Then is { } then)
            Continue(then);
    }

    private void Continue(PendingRoute then)
    {
        if (then.Task is { } task)
            Route(task, then.Message, then.ReplyTo, reread: false);
        else
            AskAll(then.Message, then.Message, then.ReplyTo);
    }

    /// <summary>Adds <paramref name="buckets"/> to those asked and kept alive.</summary>
    private void Keep(IReadOnlyList<int> buckets)
    {
        var added = buckets.Where(b => b >= 0 && b < _role.Shards && _buckets.Add(b)).ToList();
        if (added.Count > 0 && !_starter.IsNobody())
            _starter.Tell(new BucketStarter.Add(added));
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

        if (change.Changes.FirstOrDefault(c => c is AddTask { BodyType: null } || c is UpdateTask { Body: not null }) is { } withDelegate)
        {
            // The bucket may be on another node, and a delegate cannot cross the network.
            Sender.Tell(new Status.Failure(new ArgumentException(
                $"'{withDelegate.Task}': with distribution = sharded, a body given as a delegate cannot be added, nor replace a task's body, " +
                "at run time (the bucket may run on another node, and a delegate cannot cross the network): add the task by type " +
                "(AddTask.Of<TTask>) with a state store, or in the set every node starts.",
                nameof(ChangeTasks.Changes))));
            return;
        }

        var added = change.Changes.OfType<AddTask>().ToList();
        if (added.FirstOrDefault(a => a.Options.Role != _role.Role) is { } otherRole)
        {
            Sender.Tell(new Status.Failure(new PeriodicTaskDefinitionException(
                $"task '{otherRole.Task}': role = \"{otherRole.Options.Role}\", but these sharded cluster tasks are of " +
                $"{(_role.Role.Length == 0 ? "no role" : $"role \"{_role.Role}\"")}: add it through the set's client, which sends it to its role's.")));
            return;
        }

        if (added.Count > 0 && _role.Added is null)
        {
            Sender.Tell(new Status.Failure(new ArgumentException(
                $"'{added[0].Task}': with distribution = sharded, cluster tasks can be added at run time only with a state store in SQLite " +
                "or PostgreSQL (actor-scheduler.state.store = sql), which keeps the addition and the bucket it lands in for the nodes " +
                "that start that bucket later.",
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

        if (added.Count > 0 && !_listed.Contains(buckets[0]))
        {
            // Listed before the bucket keeps the addition: every node then starts it, now and after a restart.
            var (bucket, replyTo) = (buckets[0], Sender);
            _role.Added!.AddAsync(bucket).PipeTo(
                Self, success: () => new BucketListed(bucket, change, replyTo), failure: e => new BucketNotListed(bucket, replyTo, Unwrap(e)));
            return;
        }

        Route(change.Changes[0].Task, change, Sender);
    }

    private void Route(string? task, object message, IActorRef replyTo, bool reread = true)
    {
        task ??= "";
        var bucket = BucketOf(task);
        if (!_buckets.Contains(bucket) && reread && _role.Added is not null)
        {
            ReadAdded(new PendingRoute(task, message, replyTo)); // another node may just have listed it
            return;
        }

        if (!_buckets.Contains(bucket))
        {
            // No task of the set hashes there: not found, without starting an empty bucket.
            AskAll(GetTaskStats.Instance, new CheckNotFound(task, null), replyTo);
            return;
        }

        _region.Ask<object>(Envelope(bucket, message), AskTimeout).PipeTo(
            Self, success: answer => new BucketAnswered(replyTo, answer), failure: e => new BucketRefused(replyTo, task, message, Unwrap(e)));
    }

    /// <summary>
    /// A bucket's not-found names the tasks of that bucket only, and a failure from another node loses its exception
    /// (the ask is cancelled): both are checked against the stats of every bucket.
    /// </summary>
    private void OnRefused(BucketRefused refused)
    {
        switch (refused.Cause)
        {
            case TaskCanceledException when refused.Message is ChangeTasks change && change.Changes.Any(c => c is AddTask):
                // An addition that another node refused (it cannot build the task's type, say): a new name is not "not found".
                refused.ReplyTo.Tell(new Status.Failure(new InvalidOperationException(
                    $"task set '{_role.SetName}': the node that runs the bucket of '{refused.Task}' refused the change, and the reason did not " +
                    "cross the network: see that node's log (a node that cannot build the task's type names it there).")));
                break;
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

    private sealed record ReadAddedBuckets
    {
        public static readonly ReadAddedBuckets Instance = new();
    }

    /// <summary>A request waiting for the buckets listed in the table: to the bucket of <paramref name="Task"/>, or to all (null).</summary>
    private sealed record PendingRoute(string? Task, object Message, IActorRef ReplyTo);

    /// <summary>The buckets listed in the table (none, with <paramref name="Error"/>, when it could not be read).</summary>
    private sealed record AddedBucketsRead(IReadOnlyList<int> Buckets, Exception? Error, PendingRoute? Then);

    /// <summary>An addition's bucket is listed: the change goes to it.</summary>
    private sealed record BucketListed(int Bucket, ChangeTasks Change, IActorRef ReplyTo);

    private sealed record BucketNotListed(int Bucket, IActorRef ReplyTo, Exception Cause);

    private sealed record RegionFailed(Exception Cause);

    private sealed record RetryStart
    {
        public static readonly RetryStart Instance = new();
    }

    /// <summary>A bucket's answer to a request routed to it.</summary>
    private sealed record BucketAnswered(IActorRef ReplyTo, object Answer);

    /// <summary>A bucket's failure (or no answer in time) to a request routed to it.</summary>
    private sealed record BucketRefused(IActorRef ReplyTo, string Task, object Message, Exception Cause);

    /// <summary>Every bucket's answer to a request sent to all of them for <paramref name="Purpose"/>.</summary>
    private sealed record BucketsAnswered(IActorRef ReplyTo, object Purpose, IReadOnlyList<object> Answers);

    private sealed record BucketsFailed(IActorRef ReplyTo, object Purpose, Exception Cause);

    /// <summary>Is <paramref name="Task"/> in any bucket? Not found: the manager's failure; found: <paramref name="Error"/>.</summary>
    private sealed record CheckNotFound(string Task, Exception? Error);
}
