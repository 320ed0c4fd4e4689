using ActorScheduler.Runtime;
using System.Text;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>The messages that cross the network to a cluster singleton, and the journal's events and snapshots, through StateSerializer.</summary>
public sealed class SerializerTests : TestKit
{
    private static readonly DateTimeOffset At = new(2026, 3, 29, 1, 30, 0, TimeSpan.FromHours(2));

    private static readonly TaskStats Stats = new(
        "report", "every 10m", true, 3, 2, 1, 0, 0, 1, 4, false, At, TimeSpan.FromMilliseconds(12), TimeSpan.FromMilliseconds(8),
        TimeSpan.FromMilliseconds(30), 17, At.AddMinutes(10), Paused: true, PauseNote: "maintenance", PausedUntil: At.AddHours(1),
        SkippedWhilePaused: 5, Retries: 2);

    public static TheoryData<object> Messages() =>
    [
        new PauseTask("report", "maintenance", At.AddHours(1)),
        new PauseTask("report"),
        new ResumeTask("report"),
        new TriggerTask("report"),
        new TaskTriggered("report", 7, true),
        new PauseRecorded("report", true, "maintenance", At),
        new PauseRecorded("report", false, null, null),
        new TasksStopped("jobs", 2),
        new GetRuns("report", At, 20),
        new GetRuns("report"),
        new GetRunCounts(At.AddHours(-1)),
    ];

    [Fact]
    public void An_addition_by_type_an_update_and_a_removal_cross_the_network_and_a_body_given_as_a_delegate_is_refused()
    {
        var options = new PeriodicTaskOptions
        {
            Spacing = TimeSpan.FromSeconds(90), Timeout = TimeSpan.FromSeconds(30), Scope = TaskScope.Cluster, Role = "worker",
            Retries = 2, Overlap = OverlapMode.Queue, Misfire = MisfirePolicy.RunAll,
        };
        var change = (ChangeTasks)RoundTrip(new ChangeTasks(new UpdateTask("report", options), new RemoveTask("cleanup")), out var serializer);
        Assert.IsType<StateSerializer>(serializer);
        Assert.Equal(2, change.Changes.Count);
        Assert.Equal(new UpdateTask("report", options), change.Changes[0]);
        Assert.Equal(new RemoveTask("cleanup"), change.Changes[1]);
        var changed = (TasksChanged)RoundTrip(new TasksChanged("jobs", [], ["report"], ["cleanup"]), out _);
        Assert.Equal("jobs", changed.SetName);
        Assert.Empty(changed.Added);
        Assert.Equal(["report"], changed.Updated);
        Assert.Equal(["cleanup"], changed.Removed);

        var typed = (ChangeTasks)RoundTrip(new ChangeTasks(AddTask.Of<CountingTask>("counted", options)), out _);
        var added = Assert.IsType<AddTask>(Assert.Single(typed.Changes));
        Assert.Equal(("counted", options, "ActorScheduler.Cluster.Tests.CountingTask, ActorScheduler.Cluster.Tests"), (added.Task, added.Options, added.BodyType));

        var stateSerializer = new StateSerializer((ExtendedActorSystem)Sys);
        var add = Assert.Throws<System.Runtime.Serialization.SerializationException>(() =>
            stateSerializer.ToBinary(new ChangeTasks(new AddTask("new", (_, _) => ValueTask.CompletedTask))));
        Assert.Contains("cannot cross the network", add.Message);
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() =>
            stateSerializer.ToBinary(new ChangeTasks(new UpdateTask("report", options, (_, _) => ValueTask.CompletedTask))));
    }

    [Fact]
    public void The_messages_without_fields_a_sharded_bucket_is_sent_come_back_as_their_instance()
    {
        foreach (var message in new object[] { GetTaskStats.Instance, StopTasks.Instance, FlushState.Instance, StateFlushed.Instance })
        {
            Assert.Same(message, RoundTrip(message, out var serializer));
            Assert.IsType<StateSerializer>(serializer);
        }
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void A_control_message_or_event_round_trips_with_its_own_manifest(object message)
    {
        var back = RoundTrip(message, out var serializer);
        Assert.IsType<StateSerializer>(serializer);
        Assert.Equal(message, back);
    }

    [Fact]
    public void Task_stats_keep_their_pause_and_retry_fields_alone_and_inside_a_report()
    {
        var stats = (TaskStats)RoundTrip(Stats, out _);
        Assert.Equal(Stats, stats);
        var report = (TaskStatsReport)RoundTrip(new TaskStatsReport("jobs", 9, [Stats]), out _);
        Assert.Equal(Stats, report["report"]);
        Assert.Equal((true, "maintenance", At.AddHours(1), 5L, 2L),
            (report["report"].Paused, report["report"].PauseNote, report["report"].PausedUntil, report["report"].SkippedWhilePaused, report["report"].Retries));
    }

    [Fact]
    public void Run_events_keep_node_process_counters_and_the_run_and_older_run_events_still_load()
    {
        var counters = new Runtime.CounterRecord(3, 2, 1, 0, 0, 1, 4, 5, 2, 3, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));
        var run = new PeriodicTaskRun(7, At, At.AddMilliseconds(3), TimeSpan.FromMilliseconds(12), "failed", 2, "akka.tcp://a@127.0.0.1:4053");
        var started = new RunRecorded("report", true, At, At.AddMinutes(1), "akka.tcp://a@127.0.0.1:4053#42", "p1", 7, At);
        var ended = new RunRecorded("report", false, At.AddSeconds(1), null, Ended: run, Counters: counters);
        Assert.Equal(started, RoundTrip(started, out _));
        var back = (RunRecorded)RoundTrip(ended, out _);
        Assert.Equal((run, counters), (back.Ended, back.Counters));

        var serializer = new StateSerializer((ExtendedActorSystem)Sys);
        var old = (RunRecorded)serializer.FromBinary(
            Encoding.UTF8.GetBytes("""{"Task":"report","Running":true,"At":"2026-03-29T01:30:00+02:00","Deadline":null}"""), "run");
        Assert.Equal(("report", true, (string?)null, (string?)null), (old.Task, old.Running, old.Node, old.Process));
        Assert.Null(old.Counters);

        var state = new ScheduleState();
        state.Apply(started);
        state.Apply(ended);
        var snapshot = (ScheduleSnapshot)RoundTrip(state.ToSnapshot(), out _);
        var restored = new ScheduleState();
        restored.Apply(snapshot);
        Assert.Equal(counters, restored.Counters["report"]);
        Assert.Equal([run], restored.RecentOf("report"));
        Assert.Empty(restored.Running);
    }

    [Fact]
    public void A_page_of_runs_keeps_each_runs_end_and_error_and_run_counts_keep_their_minutes()
    {
        var failed = new PeriodicTaskRun(7, At, At.AddMilliseconds(3), TimeSpan.FromMilliseconds(12), "failed", 2, "akka.tcp://a@127.0.0.1:4053")
        {
            EndedAt = At.AddSeconds(1),
            Error = "disk full on /var",
        };
        var succeeded = new PeriodicTaskRun(6, At, At, TimeSpan.FromMilliseconds(1), "succeeded", 1, null) { EndedAt = At.AddMilliseconds(1) };
        var page = (RunsPage)RoundTrip(new RunsPage("jobs", "report", [failed, succeeded], At.AddMinutes(-1)), out var serializer);
        Assert.Equal("runs", Akka.Serialization.Serialization.ManifestFor(serializer, page));
        Assert.Equal(("jobs", "report", At.AddMinutes(-1)), (page.SetName, page.Task, page.Next));
        Assert.Equal([failed, succeeded], page.Runs);
        Assert.Equal((At.AddSeconds(1), "disk full on /var"), (page.Runs[0].EndedAt, page.Runs[0].Error));

        var minutes = new List<RunCount> { new(At, 40, 2), new(At.AddMinutes(1), 3, 0) };
        var counts = (RunCountsReport)RoundTrip(new RunCountsReport("jobs", minutes), out serializer);
        Assert.Equal("run-counts", Akka.Serialization.Serialization.ManifestFor(serializer, counts));
        Assert.Equal("jobs", counts.SetName);
        Assert.Equal(minutes, counts.Minutes);

        // A page of the largest limit, each run with a long error, is gzipped under a remote frame (128,000 bytes).
        var runs = Enumerable.Range(0, GetRuns.MaxLimit)
            .Select(i => failed with { Tick = i, Error = $"run {i}: " + string.Concat(Enumerable.Repeat("the disk /var is full; ", 40)) }).ToList();
        var large = new RunsPage("jobs", "report", runs, null);
        var bytes = new StateSerializer((ExtendedActorSystem)Sys).ToBinary(large);
        Assert.Equal(0x1f, bytes[0]);
        Assert.InRange(bytes.Length, 1, 128000 - 1000);
        Assert.Equal(runs, ((RunsPage)RoundTrip(large, out _)).Runs);
    }

    [Fact]
    public void A_large_stats_report_is_gzipped_to_fit_a_remote_frame_and_a_plain_one_still_reads()
    {
        var tasks = Enumerable.Range(0, 2000).Select(i => Stats with { Task = $"job-{i:0000}" }).ToList();
        var report = new TaskStatsReport("jobs", 42, tasks);
        var serializer = new StateSerializer((ExtendedActorSystem)Sys);
        var bytes = serializer.ToBinary(report);
        Assert.InRange(bytes.Length, 1, 128000 - 1000); // Akka.Remote's default maximum-frame-size, less the envelope
        var back = (TaskStatsReport)serializer.FromBinary(bytes, "stats");
        Assert.Equal(tasks, back.Tasks);

        var small = new TaskStatsReport("jobs", 3, [Stats]);
        Assert.Equal((byte)'{', serializer.ToBinary(small)[0]);
        var plain = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(report);
        Assert.Equal(tasks, ((TaskStatsReport)serializer.FromBinary(plain, "stats")).Tasks);
    }

    [Fact]
    public void A_snapshot_written_before_pauses_were_kept_still_loads()
    {
        var serializer = new StateSerializer((ExtendedActorSystem)Sys);
        var old = Encoding.UTF8.GetBytes(
            """{"LastTick":12,"Places":[{"Task":"report","Schedule":"ticks:3","DueTick":15,"NextDueAt":null,"LastRunAt":null}],"Running":[]}""");
        var snapshot = (ScheduleSnapshot)serializer.FromBinary(old, "snapshot");
        Assert.Null(snapshot.Pauses);

        var state = new ScheduleState();
        state.Apply(snapshot);
        Assert.Equal(12, state.LastTick);
        Assert.Equal(15, state.Places["report"].DueTick);
        Assert.Empty(state.Pauses);
    }

    [Fact]
    public void Records_written_together_as_one_event_read_back_in_order_and_apply_like_the_records_one_by_one()
    {
        var run = new PeriodicTaskRun(4, At, At, TimeSpan.FromMilliseconds(5), "succeeded", 1, null);
        object[] records =
        [
            new TickRecorded(4, [new PlaceRecord("a", "ticks:0", 5, null, null)]),
            new RunRecorded("a", true, At, null, "n#1", "p1", 4, At),
            new PauseRecorded("b", true, "held", null),
            new RunRecorded("a", false, At.AddSeconds(1), null, Ended: run),
        ];

        var batch = (RecordedBatch)RoundTrip(RecordedBatch.Of(records), out var serializer);
        Assert.Equal("records", Akka.Serialization.Serialization.ManifestFor(serializer, batch));
        Assert.Equal(records.Select(r => r.GetType()), batch.Records().Select(r => r.GetType()));
        Assert.Equal(records[1], batch.Records().ElementAt(1));

        var together = new ScheduleState();
        together.Apply(batch);
        var oneByOne = new ScheduleState();
        foreach (var record in records)
            oneByOne.Apply(record);
        Assert.Equal((4L, 5L, "b"), (together.LastTick, together.Places["a"].DueTick, together.Pauses.Keys.Single()));
        Assert.Empty(together.Running); // the start, then the end of the same run
        Assert.Equal(oneByOne.RecentOf("a"), together.RecentOf("a"));
        Assert.Equal(oneByOne.Places["a"], together.Places["a"]);
    }

    [Fact]
    public void A_batch_reads_back_every_field_of_every_record_in_its_compact_form_and_a_batch_written_as_json_still_reads()
    {
        var counters = new CounterRecord(9, 5, 1, 1, 1, 2, 3, 4, 6, 8, TimeSpan.FromMilliseconds(90), TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(7));
        var options = new PeriodicTaskOptions { Cron = "*/5 * * * *", TimeZone = "Europe/Paris", Scope = TaskScope.Cluster };
        object[] records =
        [
            new TickRecorded(-1, []),
            new TickRecorded(long.MaxValue, [new PlaceRecord("a", "ticks:0", 5, At, At.AddHours(-1)), new PlaceRecord("b", "cron:x|UTC", null, null, null)]),
            new RunRecorded("a", true, At, At.AddSeconds(30), "akka.tcp://s@127.0.0.1:1#42", "p1", 4, At.AddMinutes(-1)),
            new RunRecorded("a", false, At.AddSeconds(1), null, Ended: new PeriodicTaskRun(4, At, At, TimeSpan.FromTicks(12345), "timed-out", 3, null), Counters: counters),
            new RunRecorded("a", false, At, null, Ended: new PeriodicTaskRun(5, At, At, TimeSpan.Zero, "succeeded", 1, "node"), Counters: counters with { LastDuration = null }),
            new PauseRecorded("b", true, "held, with a note: é", At.ToOffset(TimeSpan.FromHours(-5))),
            new PauseRecorded("b", false, null, null),
            new ChangeRecorded("c", KeptChanges.Add, null, options, "Some.Task, Some", At),
        ];
        var batch = RecordedBatch.Of(records);
        var read = (RecordedBatch)RoundTrip(batch, out var serializer);
        Assert.Equal(records.Select(Comparable), read.Records().Select(Comparable));
        Assert.Equal(At.ToOffset(TimeSpan.FromHours(-5)).Offset, ((PauseRecorded)read.Records().ElementAt(5)).Until!.Value.Offset);

        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(batch);
        var compact = ((Akka.Serialization.SerializerWithStringManifest)serializer).ToBinary(batch);
        Assert.True(compact.Length * 2 < json.Length, $"{compact.Length} bytes against {json.Length} as JSON");
        var old = (RecordedBatch)Sys.Serialization.Deserialize(json, serializer.Identifier, "batch");
        Assert.Equal(records.Select(Comparable), old.Records().Select(Comparable));

        // A tick's places are a list, which record equality compares by reference.
        static object Comparable(object record) => record is TickRecorded tick ? (tick.Tick, string.Join(";", tick.Places)) : record;
    }

    [Fact]
    public void A_snapshot_of_a_thousand_tasks_with_their_recent_runs_reads_back_whole_at_a_fraction_of_its_json()
    {
        var state = new ScheduleState();
        for (var t = 0; t < 1000; t++)
        {
            var task = "task-" + t;
            state.Apply(new TickRecorded(t, [new PlaceRecord(task, "spacing:600000000", t + 1, At.AddMinutes(t), At)]));
            for (var run = 0; run < ScheduleState.RecentRunsKept; run++)
                state.Apply(new RunRecorded(task, false, At, null, Ended: new PeriodicTaskRun(run, At, At, TimeSpan.FromMilliseconds(run), "succeeded", 1, "akka.tcp://s@10.0.0.1:4053"),
                    Counters: new CounterRecord(run + 1, run + 1, 0, 0, 0, 0, 0, 0, 0, run + 1, TimeSpan.FromMilliseconds(run), TimeSpan.FromMilliseconds(run), null)));
        }

        state.Apply(new PauseRecorded("task-7", true, "held", At));
        state.Apply(new RunRecorded("task-9", true, At, At.AddMinutes(1), "n#1", "p", 3, At));
        var snapshot = state.ToSnapshot();
        var read = (ScheduleSnapshot)RoundTrip(snapshot, out var serializer);
        Assert.Equal("state", Akka.Serialization.Serialization.ManifestFor(serializer, snapshot));

        var restored = new ScheduleState();
        restored.Apply(read);
        Assert.Equal(state.LastTick, restored.LastTick);
        Assert.Equal(state.Places.Values.OrderBy(p => p.Task), restored.Places.Values.OrderBy(p => p.Task));
        Assert.Equal(state.Running.Values, restored.Running.Values);
        Assert.Equal(state.Pauses.Values, restored.Pauses.Values);
        Assert.Equal(state.Counters.OrderBy(c => c.Key), restored.Counters.OrderBy(c => c.Key));
        Assert.Equal(state.RecentOf("task-500"), restored.RecentOf("task-500"));

        var compact = ((Akka.Serialization.SerializerWithStringManifest)serializer).ToBinary(snapshot);
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(snapshot);
        Assert.True(compact.Length * 4 < json.Length, $"{compact.Length} bytes against {json.Length} as JSON");
        var old = (ScheduleSnapshot)Sys.Serialization.Deserialize(json, serializer.Identifier, "snapshot"); // written as JSON before
        Assert.Equal(snapshot.Places.Count, old.Places.Count);
    }

    [Fact]
    public void Pauses_and_resumes_are_kept_in_the_state_and_its_snapshot()
    {
        var state = new ScheduleState();
        state.Apply(new PauseRecorded("a", true, "db migration", At));
        state.Apply(new PauseRecorded("b", true, null, null));
        state.Apply(new PauseRecorded("b", false, null, null));
        var snapshot = (ScheduleSnapshot)RoundTrip(state.ToSnapshot(), out _);

        var restored = new ScheduleState();
        restored.Apply(snapshot);
        Assert.Equal([new PauseRecorded("a", true, "db migration", At)], restored.Pauses.Values);
    }

    [Fact]
    public void Kept_changes_read_back_alone_in_a_batch_and_in_a_snapshot_and_configured_clears_one()
    {
        var options = new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(5), Scope = TaskScope.Cluster };
        var add = new ChangeRecorded("added", KeptChanges.Add, null, options, "Some.Task, Some.Assembly", At);
        var update = new ChangeRecorded("report", KeptChanges.Update, "0123456789ABCDEF", options, null, At);
        Assert.Equal(add, RoundTrip(add, out _));
        var state = new ScheduleState();
        state.Apply(RoundTrip(RecordedBatch.Of([add, update, new ChangeRecorded("gone", KeptChanges.Remove, "FEDCBA9876543210", null, null, At)]), out _));
        state.Apply(new ChangeRecorded("gone", KeptChanges.Configured, "FEDCBA9876543210", null, null, At));

        var restored = new ScheduleState();
        restored.Apply((ScheduleSnapshot)RoundTrip(state.ToSnapshot(), out _));
        Assert.Equal([add, update], restored.Changes.Values.OrderBy(c => c.Task));
    }

    private object RoundTrip(object message, out Akka.Serialization.Serializer serializer)
    {
        StateSerialization.Register(Sys);
        serializer = Sys.Serialization.FindSerializerFor(message);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        return Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);
    }
}
