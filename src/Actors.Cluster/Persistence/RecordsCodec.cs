using System.Runtime.Serialization;
using System.Text.Json;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. The compact form of a <see cref="RecordedBatch"/> in the journal (manifest <c>records</c>): binary,
/// each task name, node, process, outcome and schedule key written once per event in a string table and referred to
/// by number after it. A run costs about a tenth of its JSON (docs/architecture.md, "Persistence"). Batches written
/// before it, as JSON under manifest <c>batch</c>, still read.
/// </summary>
internal static class RecordsCodec
{
    private const byte Version = 1;
    private const byte TickKind = 1, RunKind = 2, PauseKind = 3, ChangeKind = 4;

    public static byte[] Write(RecordedBatch batch, JsonSerializerOptions json)
    {
        var strings = new Dictionary<string, int>(StringComparer.Ordinal);
        using var body = new MemoryStream();
        using (var w = new BinaryWriter(body, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            void Str(string value)
            {
                if (!strings.TryGetValue(value, out var index))
                    strings[value] = index = strings.Count;
                w.Write7BitEncodedInt(index);
            }

            void OptStr(string? value)
            {
                w.Write(value is not null);
                if (value is not null)
                    Str(value);
            }

            w.Write7BitEncodedInt(batch.Items.Count);
            foreach (var record in batch.Records())
            {
                switch (record)
                {
                    case TickRecorded tick:
                        w.Write(TickKind);
                        w.Write7BitEncodedInt64(tick.Tick);
                        w.Write7BitEncodedInt(tick.Places.Count);
                        foreach (var place in tick.Places)
                        {
                            Str(place.Task);
                            Str(place.Schedule);
                            OptLong(w, place.DueTick);
                            OptTime(w, place.NextDueAt);
                            OptTime(w, place.LastRunAt);
                        }

                        break;
                    case RunRecorded run:
                        w.Write(RunKind);
                        Str(run.Task);
                        w.Write(run.Running);
                        Time(w, run.At);
                        OptTime(w, run.Deadline);
                        OptStr(run.Node);
                        OptStr(run.Process);
                        OptLong(w, run.Tick);
                        OptTime(w, run.ScheduledAt);
                        w.Write(run.Ended is not null);
                        if (run.Ended is { } ended)
                        {
                            w.Write7BitEncodedInt64(ended.Tick);
                            Time(w, ended.ScheduledAt);
                            Time(w, ended.StartedAt);
                            w.Write7BitEncodedInt64(ended.Duration.Ticks);
                            Str(ended.Outcome);
                            w.Write7BitEncodedInt(ended.Attempts);
                            OptStr(ended.Node);
                        }

                        w.Write(run.Counters is not null);
                        if (run.Counters is { } c)
                        {
                            foreach (var n in (ReadOnlySpan<long>)[c.Runs, c.Succeeded, c.Failed, c.TimedOut, c.Cancelled, c.Overruns, c.Missed,
                                         c.SkippedWhilePaused, c.Retries, c.Ended, c.TotalDuration.Ticks, c.MaxDuration.Ticks])
                                w.Write7BitEncodedInt64(n);
                            OptLong(w, c.LastDuration?.Ticks);
                        }

                        break;
                    case PauseRecorded pause:
                        w.Write(PauseKind);
                        Str(pause.Task);
                        w.Write(pause.Paused);
                        OptStr(pause.Note);
                        OptTime(w, pause.Until);
                        break;
                    case ChangeRecorded change: // rare: as JSON
                        w.Write(ChangeKind);
                        var bytes = JsonSerializer.SerializeToUtf8Bytes(change, json);
                        w.Write7BitEncodedInt(bytes.Length);
                        w.Write(bytes);
                        break;
                }
            }
        }

        using var output = new MemoryStream((int)body.Length + strings.Count * 8 + 8);
        using (var w = new BinaryWriter(output, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Version);
            w.Write7BitEncodedInt(strings.Count);
            foreach (var s in strings.Keys) // in order of their numbers (a Dictionary without removals enumerates in insertion order)
                w.Write(s);
            body.Position = 0;
            body.CopyTo(output);
        }

        return output.ToArray();
    }

    public static RecordedBatch Read(byte[] bytes, JsonSerializerOptions json)
    {
        using var r = new BinaryReader(new MemoryStream(bytes), System.Text.Encoding.UTF8);
        if (r.ReadByte() != Version)
            throw new SerializationException("a journal batch in a format this version does not read (written by a newer one).");
        var strings = new string[r.Read7BitEncodedInt()];
        for (var i = 0; i < strings.Length; i++)
            strings[i] = r.ReadString();
        string Str() => strings[r.Read7BitEncodedInt()];
        string? OptStr() => r.ReadBoolean() ? Str() : null;

        var count = r.Read7BitEncodedInt();
        var items = new List<RecordedItem>(count);
        for (var i = 0; i < count; i++)
        {
            items.Add(r.ReadByte() switch
            {
                TickKind => new RecordedItem(Tick: ReadTick()),
                RunKind => new RecordedItem(Run: ReadRun()),
                PauseKind => new RecordedItem(Pause: new PauseRecorded(Str(), r.ReadBoolean(), OptStr(), OptTime(r))),
                ChangeKind => new RecordedItem(Change: JsonSerializer.Deserialize<ChangeRecorded>(r.ReadBytes(r.Read7BitEncodedInt()), json)),
                var kind => throw new SerializationException($"unknown record kind {kind} in a journal batch."),
            });
        }

        return new RecordedBatch(items);

        TickRecorded ReadTick()
        {
            var tick = r.Read7BitEncodedInt64();
            var places = new PlaceRecord[r.Read7BitEncodedInt()];
            for (var i = 0; i < places.Length; i++)
                places[i] = new PlaceRecord(Str(), Str(), OptLong(r), OptTime(r), OptTime(r));
            return new TickRecorded(tick, places);
        }

        RunRecorded ReadRun()
        {
            var (task, running, at, deadline) = (Str(), r.ReadBoolean(), Time(r), OptTime(r));
            var (node, process, tick, scheduledAt) = (OptStr(), OptStr(), OptLong(r), OptTime(r));
            var ended = r.ReadBoolean()
                ? new PeriodicTaskRun(r.Read7BitEncodedInt64(), Time(r), Time(r), TimeSpan.FromTicks(r.Read7BitEncodedInt64()), Str(), r.Read7BitEncodedInt(), OptStr())
                : null;
            CounterRecord? counters = null;
            if (r.ReadBoolean())
            {
                Span<long> n = stackalloc long[12];
                for (var i = 0; i < n.Length; i++)
                    n[i] = r.Read7BitEncodedInt64();
                counters = new CounterRecord(n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9],
                    TimeSpan.FromTicks(n[10]), TimeSpan.FromTicks(n[11]), OptLong(r) is { } last ? TimeSpan.FromTicks(last) : null);
            }

            return new RunRecorded(task, running, at, deadline, node, process, tick, scheduledAt, ended, counters);
        }
    }

    private static void Time(BinaryWriter w, DateTimeOffset value)
    {
        w.Write(value.UtcTicks);
        w.Write((short)value.Offset.TotalMinutes);
    }

    private static DateTimeOffset Time(BinaryReader r)
    {
        var utcTicks = r.ReadInt64();
        var offset = TimeSpan.FromMinutes(r.ReadInt16());
        return new DateTimeOffset(utcTicks + offset.Ticks, offset);
    }

    private static void OptTime(BinaryWriter w, DateTimeOffset? value)
    {
        w.Write(value.HasValue);
        if (value is { } v)
            Time(w, v);
    }

    private static DateTimeOffset? OptTime(BinaryReader r) => r.ReadBoolean() ? Time(r) : null;

    private static void OptLong(BinaryWriter w, long? value)
    {
        w.Write(value.HasValue);
        if (value is { } v)
            w.Write7BitEncodedInt64(v);
    }

    private static long? OptLong(BinaryReader r) => r.ReadBoolean() ? r.Read7BitEncodedInt64() : null;
}
