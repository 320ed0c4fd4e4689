using ActorScheduler.Runtime;
using System.IO.Compression;
using System.Text.Json;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;

namespace ActorScheduler.Persistence;

/// <summary>
/// Serializes the schedule keeper's journal events and snapshots, and the task-set queries that cross the network to a
/// cluster singleton or a sharded bucket, as JSON with short, stable manifests (no CLR type names in the database or on the wire).
/// Registered by <see cref="StateSerialization.Register"/>; identifier 7431.
/// </summary>
internal sealed class StateSerializer : SerializerWithStringManifest
{
    public const int SerializerId = 7431;

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General);

    private static readonly Dictionary<Type, string> Manifests = new()
    {
        [typeof(TickRecorded)] = "tick",
        [typeof(RunRecorded)] = "run",
        [typeof(ScheduleSnapshot)] = "state", // binary (RecordsCodec); "snapshot", JSON, is still read
        [typeof(PauseRecorded)] = "pause-recorded",
        [typeof(RecordedBatch)] = "records", // binary (RecordsCodec); "batch", JSON, is still read
        [typeof(ChangeRecorded)] = "change-recorded",
        [typeof(PauseTask)] = "pause",
        [typeof(ResumeTask)] = "resume",
        [typeof(GetTaskStats)] = "get-stats",
        [typeof(TaskStatsReport)] = "stats",
        [typeof(TaskStats)] = "task-stats",
        [typeof(TriggerTask)] = "trigger",
        [typeof(TaskTriggered)] = "triggered",
        [typeof(NotifyWhenTicked)] = "notify-ticked",
        [typeof(Ticked)] = "ticked",
        [typeof(GetRecentRuns)] = "get-recent-runs",
        [typeof(RecentRunsReport)] = "recent-runs",
        [typeof(GetRuns)] = "get-runs",
        [typeof(RunsPage)] = "runs",
        [typeof(GetRunCounts)] = "get-run-counts",
        [typeof(RunCountsReport)] = "run-counts",
        [typeof(StopTasks)] = "stop",
        [typeof(TasksStopped)] = "stopped",
        [typeof(FlushState)] = "flush",
        [typeof(StateFlushed)] = "flushed",
        [typeof(ChangeTasks)] = "change",
        [typeof(TasksChanged)] = "changed",
        [typeof(ActorScheduler.Cluster.SetsOf)] = "sets",
    };

    /// <summary>Messages without fields, written as nothing and read back as their one instance.</summary>
    private static readonly Dictionary<Type, object> Instances = new()
    {
        [typeof(GetTaskStats)] = GetTaskStats.Instance,
        [typeof(StopTasks)] = StopTasks.Instance,
        [typeof(FlushState)] = FlushState.Instance,
        [typeof(StateFlushed)] = StateFlushed.Instance,
    };

    /// <summary>A batch of records, and a snapshot, as JSON, as written before <see cref="RecordsCodec"/>.</summary>
    private const string JsonBatch = "batch", JsonSnapshot = "snapshot";

    private static readonly Dictionary<string, Type> Types = Manifests
        .Append(KeyValuePair.Create(typeof(RecordedBatch), JsonBatch))
        .Append(KeyValuePair.Create(typeof(ScheduleSnapshot), JsonSnapshot))
        .ToDictionary(p => p.Value, p => p.Key);

    public StateSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <summary>The types this serializer handles.</summary>
    public static IEnumerable<Type> HandledTypes => Manifests.Keys;

    public override int Identifier => SerializerId;

    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType()} is not serialized by {nameof(StateSerializer)}.", nameof(o));

    /// <summary>
    /// A stats report or a page of runs larger than this is gzipped (about 35 tasks; 2,000 tasks then fit Akka.Remote's
    /// 128 KB frame; docs/cluster.md, "Querying and controlling a cluster set").
    /// </summary>
    internal const int CompressAbove = 16 * 1024;

    public override byte[] ToBinary(object obj) => obj switch
    {
        _ when Instances.ContainsKey(obj.GetType()) => [],
        ChangeTasks change => JsonSerializer.SerializeToUtf8Bytes(change.Changes.Select(WireChange.Of).ToList(), Options),
        RecordedBatch batch => RecordsCodec.Write(batch, Options),
        ScheduleSnapshot snapshot => RecordsCodec.Write(snapshot, Options),
        TaskStatsReport or RunsPage => Compressed(JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options)),
        _ => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options),
    };

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown manifest '{manifest}' for {nameof(StateSerializer)}.");
        if (Instances.TryGetValue(type, out var instance))
            return instance;
        if (type == typeof(RecordedBatch) && manifest != JsonBatch)
            return RecordsCodec.Read(bytes, Options);
        if (type == typeof(ScheduleSnapshot) && manifest != JsonSnapshot)
            return RecordsCodec.ReadSnapshot(bytes, Options);
        if (bytes.Length > 1 && bytes[0] == 0x1f && bytes[1] == 0x8b) // gzip (JSON starts with '{', '[' or '"')
            bytes = Decompressed(bytes);
        if (type == typeof(ChangeTasks))
            return new ChangeTasks((JsonSerializer.Deserialize<List<WireChange>>(bytes, Options) ?? []).Select(c => c.ToChange()).ToList());
        return JsonSerializer.Deserialize(bytes, type, Options)
            ?? throw new SerializationException($"empty payload for manifest '{manifest}'.");
    }

    private static byte[] Compressed(byte[] json)
    {
        if (json.Length <= CompressAbove)
            return json;
        using var buffer = new MemoryStream(json.Length / 4);
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(json);
        return buffer.ToArray();
    }

    private static byte[] Decompressed(byte[] gzipped)
    {
        using var gzip = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress);
        using var json = new MemoryStream(gzipped.Length * 6);
        gzip.CopyTo(json);
        return json.ToArray();
    }
}

/// <summary>
/// One change of a <see cref="ChangeTasks"/> on the wire: an addition by body type (<see cref="AddTask.Of{TTask}"/>, or a body a package builds), an
/// update (options only) or a removal. A body given as a delegate cannot cross the network: such a change is refused here.
/// </summary>
internal sealed record WireChange(string Kind, string Task, PeriodicTaskOptions? Options, string? BodyType = null)
{
    public static WireChange Of(TaskChange change) => change switch
    {
        AddTask { BodyType: { } type } add => new WireChange("add", add.Task, add.Options, type),
        UpdateTask { Body: null } update => new WireChange("update", update.Task, update.Options),
        RemoveTask remove => new WireChange("remove", remove.Task, null),
        _ => throw new SerializationException(
            $"{change.GetType().Name} of '{change.Task}' carries a task body as a delegate, which cannot cross the network: add it with AddTask.Of<TTask>, or in the set every node starts."),
    };

    public TaskChange ToChange() => Kind switch
    {
        "add" => new AddTask(Task, BodyType ?? throw new SerializationException($"an addition of '{Task}' without its body type."),
            Options ?? throw new SerializationException($"an addition of '{Task}' without options.")),
        "update" => new UpdateTask(Task, Options ?? throw new SerializationException($"an update of '{Task}' without options.")),
        "remove" => new RemoveTask(Task),
        _ => throw new SerializationException($"unknown change '{Kind}' of '{Task}'."),
    };
}

/// <summary>Registers <see cref="StateSerializer"/> with an ActorSystem (idempotent).</summary>
internal static class StateSerialization
{
    /// <summary>
    /// The serializer and its bindings as HOCON. Adding it to the configuration the ActorSystem starts with (as a
    /// fallback) spares the runtime registration of <see cref="Register"/> and its "serializer overridden" warning.
    /// </summary>
    public static Akka.Configuration.Config Config { get; } = Akka.Configuration.ConfigurationFactory.ParseString(
        "akka.actor.serializers.actor-scheduler-state = \"" + typeof(StateSerializer).AssemblyQualifiedName!.Split(", Version")[0] + "\"\n"
        + string.Concat(StateSerializer.HandledTypes.Select(t =>
            "akka.actor.serialization-bindings.\"" + t.AssemblyQualifiedName!.Split(", Version")[0] + "\" = actor-scheduler-state\n")));

    public static void Register(ActorSystem system)
    {
        var serialization = system.Serialization;
        if (serialization.FindSerializerForType(typeof(TickRecorded)) is StateSerializer)
            return;
        var serializer = new StateSerializer((ExtendedActorSystem)system);
        serialization.AddSerializer("actor-scheduler-state", serializer);
        foreach (var type in StateSerializer.HandledTypes)
            serialization.AddSerializationMap(type, serializer);
    }
}
