using System.Runtime.Serialization;
using System.Text;
using System.Text.Json;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. The compact form of the keeper's batches (manifest <c>records</c>) and snapshots (manifest
/// <c>state</c>): binary, each task name, node, process, outcome and schedule key written once in a string table and
/// referred to by number after it: a run's records take about 140 bytes against 1,050 as JSON, a snapshot of 1,000 tasks
/// with their recent runs 355 KB against 2.3 MB (docs/architecture.md, "Persistence"). Batches and snapshots written before
/// it, as JSON under manifests <c>batch</c> and <c>snapshot</c>, still read.
/// </summary>
internal static class RecordsCodec
{
    private const byte BatchVersion = 1, SnapshotVersion = 2;
    private const byte TickKind = 1, RunKind = 2, PauseKind = 3, ChangeKind = 4;

    public static byte[] Write(RecordedBatch batch, JsonSerializerOptions json) => Encode(BatchVersion, json, w =>
    {
        w.Count(batch.Items.Count);
        foreach (var record in batch.Records())
            w.Record(record);
    });

    public static RecordedBatch Read(byte[] bytes, JsonSerializerOptions json) => Decode(bytes, BatchVersion, json, r =>
    {
        var count = r.Count();
        var items = new List<RecordedItem>(count);
        for (var i = 0; i < count; i++)
            items.Add(r.ReadByte() switch
            {
                TickKind => new RecordedItem(Tick: r.Tick()),
                RunKind => new RecordedItem(Run: r.Run()),
                PauseKind => new RecordedItem(Pause: r.Pause()),
                ChangeKind => new RecordedItem(Change: r.Change()),
                var kind => throw new SerializationException($"unknown record kind {kind} in a journal batch."),
            });
        return new RecordedBatch(items);
    });

    public static byte[] Write(ScheduleSnapshot snapshot, JsonSerializerOptions json) => Encode(SnapshotVersion, json, w =>
    {
        w.Long(snapshot.LastTick);
        w.List(snapshot.Places, w.Place);
        w.List(snapshot.Running, w.Run);
        w.List(snapshot.Pauses ?? [], w.Pause);
        w.List(snapshot.Histories ?? [], history =>
        {
            w.Str(history.Task);
            w.Opt(history.Counters, w.Counters);
            w.List(history.Recent, w.Ended);
        });
        w.List(snapshot.Changes ?? [], w.Change);
    });

    public static ScheduleSnapshot ReadSnapshot(byte[] bytes, JsonSerializerOptions json) => Decode(bytes, SnapshotVersion, json, r =>
        new ScheduleSnapshot(r.Long(), r.List(r.Place), r.List(r.Run), r.List(r.Pause),
            r.List(() => new TaskHistory(r.Str(), r.Opt(r.Counters), r.List(r.Ended))), r.List(r.Change)));

    /// <summary>The version byte, the string table, then what <paramref name="body"/> wrote with numbers for its strings.</summary>
    private static byte[] Encode(byte version, JsonSerializerOptions json, Action<Writer> body)
    {
        using var buffer = new MemoryStream();
        var writer = new Writer(new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true), json);
        body(writer);
        writer.Flush();
        using var output = new MemoryStream((int)buffer.Length + writer.Strings.Count * 8 + 8);
        using (var w = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(version);
            w.Write7BitEncodedInt(writer.Strings.Count);
            foreach (var s in writer.Strings.Keys) // in order of their numbers (a Dictionary without removals keeps insertion order)
                w.Write(s);
            buffer.Position = 0;
            w.Flush();
            buffer.CopyTo(output);
        }

        return output.ToArray();
    }

    private static T Decode<T>(byte[] bytes, byte version, JsonSerializerOptions json, Func<Reader, T> body)
    {
        using var r = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        if (r.ReadByte() != version)
            throw new SerializationException("keeper state in a format this version does not read (written by a newer one).");
        var strings = new string[r.Read7BitEncodedInt()];
        for (var i = 0; i < strings.Length; i++)
            strings[i] = r.ReadString();
        return body(new Reader(r, strings, json));
    }

    private sealed class Writer(BinaryWriter w, JsonSerializerOptions json)
    {
        public Dictionary<string, int> Strings { get; } = new(StringComparer.Ordinal);

        public void Flush() => w.Flush();

        public void Count(int n) => w.Write7BitEncodedInt(n);

        public void Long(long n) => w.Write7BitEncodedInt64(n);

        public void Str(string value)
        {
            if (!Strings.TryGetValue(value, out var index))
                Strings[value] = index = Strings.Count;
            w.Write7BitEncodedInt(index);
        }

        public void Opt<T>(T? value, Action<T> write) where T : class
        {
            w.Write(value is not null);
            if (value is not null)
                write(value);
        }

        public void List<T>(IReadOnlyList<T> items, Action<T> write)
        {
            Count(items.Count);
            foreach (var item in items)
                write(item);
        }

        public void Record(object record)
        {
            switch (record)
            {
                case TickRecorded tick:
                    w.Write(TickKind);
                    Long(tick.Tick);
                    List(tick.Places, Place);
                    break;
                case RunRecorded run:
                    w.Write(RunKind);
                    Run(run);
                    break;
                case PauseRecorded pause:
                    w.Write(PauseKind);
                    Pause(pause);
                    break;
                case ChangeRecorded change:
                    w.Write(ChangeKind);
                    Change(change);
                    break;
                default:
                    throw new SerializationException($"{record.GetType().Name} is not a journal record.");
            }
        }

        public void Place(PlaceRecord place)
        {
            Str(place.Task);
            Str(place.Schedule);
            OptLong(place.DueTick);
            OptTime(place.NextDueAt);
            OptTime(place.LastRunAt);
        }

        public void Run(RunRecorded run)
        {
            Str(run.Task);
            w.Write(run.Running);
            Time(run.At);
            OptTime(run.Deadline);
            Opt(run.Node, Str);
            Opt(run.Process, Str);
            OptLong(run.Tick);
            OptTime(run.ScheduledAt);
            Opt(run.Ended, Ended);
            Opt(run.Counters, Counters);
        }

        public void Ended(PeriodicTaskRun ended)
        {
            Long(ended.Tick);
            Time(ended.ScheduledAt);
            Time(ended.StartedAt);
            Long(ended.Duration.Ticks);
            Str(ended.Outcome);
            Count(ended.Attempts);
            Opt(ended.Node, Str);
        }

        public void Counters(CounterRecord c)
        {
            foreach (var n in (ReadOnlySpan<long>)[c.Runs, c.Succeeded, c.Failed, c.TimedOut, c.Cancelled, c.Overruns, c.Missed,
                         c.SkippedWhilePaused, c.Retries, c.Ended, c.TotalDuration.Ticks, c.MaxDuration.Ticks])
                Long(n);
            OptLong(c.LastDuration?.Ticks);
        }

        public void Pause(PauseRecorded pause)
        {
            Str(pause.Task);
            w.Write(pause.Paused);
            Opt(pause.Note, Str);
            OptTime(pause.Until);
        }

        public void Change(ChangeRecorded change) // rare: as JSON
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(change, json);
            Count(bytes.Length);
            w.Write(bytes);
        }

        private void Time(DateTimeOffset value)
        {
            w.Write(value.UtcTicks);
            w.Write((short)value.Offset.TotalMinutes);
        }

        private void OptTime(DateTimeOffset? value)
        {
            w.Write(value.HasValue);
            if (value is { } v)
                Time(v);
        }

        private void OptLong(long? value)
        {
            w.Write(value.HasValue);
            if (value is { } v)
                Long(v);
        }
    }

    private sealed class Reader(BinaryReader r, string[] strings, JsonSerializerOptions json)
    {
        public byte ReadByte() => r.ReadByte();

        public int Count() => r.Read7BitEncodedInt();

        public long Long() => r.Read7BitEncodedInt64();

        public string Str() => strings[r.Read7BitEncodedInt()];

        public T? Opt<T>(Func<T> read) where T : class => r.ReadBoolean() ? read() : null;

        public IReadOnlyList<T> List<T>(Func<T> read)
        {
            var items = new T[Count()];
            for (var i = 0; i < items.Length; i++)
                items[i] = read();
            return items;
        }

        public TickRecorded Tick() => new(Long(), List(Place));

        public PlaceRecord Place() => new(Str(), Str(), OptLong(), OptTime(), OptTime());

        public RunRecorded Run() => new(Str(), r.ReadBoolean(), Time(), OptTime(), Opt(Str), Opt(Str), OptLong(), OptTime(), Opt(Ended), Opt(Counters));

        public PeriodicTaskRun Ended() => new(Long(), Time(), Time(), TimeSpan.FromTicks(Long()), Str(), Count(), Opt(Str));

        public CounterRecord Counters()
        {
            Span<long> n = stackalloc long[12];
            for (var i = 0; i < n.Length; i++)
                n[i] = Long();
            return new CounterRecord(n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9],
                TimeSpan.FromTicks(n[10]), TimeSpan.FromTicks(n[11]), OptLong() is { } last ? TimeSpan.FromTicks(last) : null);
        }

        public PauseRecorded Pause() => new(Str(), r.ReadBoolean(), Opt(Str), OptTime());

        public ChangeRecorded Change() =>
            JsonSerializer.Deserialize<ChangeRecorded>(r.ReadBytes(Count()), json) ?? throw new SerializationException("an empty kept change.");

        private DateTimeOffset Time()
        {
            var utcTicks = r.ReadInt64();
            var offset = TimeSpan.FromMinutes(r.ReadInt16());
            return new DateTimeOffset(utcTicks + offset.Ticks, offset);
        }

        private DateTimeOffset? OptTime() => r.ReadBoolean() ? Time() : null;

        private long? OptLong() => r.ReadBoolean() ? Long() : null;
    }
}
