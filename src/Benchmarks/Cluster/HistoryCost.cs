using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorScheduler.Benchmarks.Engines;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Runtime;
using Akka.Actor;
using static ActorScheduler.Benchmarks.Harness.Orchestrator;

namespace ActorScheduler.Benchmarks.Cluster;

/// <summary>
/// The run history in the state store's database (docs/cluster.md, "Run history"): fills actor_scheduler_runs with T
/// tasks of R runs each, one a minute (default 10,000 tasks and a week, 10,080 runs), with generated SQL; then measures
/// GetRuns pages (limit 50, random tasks, first pages and pages deep in the history) and the counts of a day through a
/// RunHistoryWriter; the retention sweep with a smaller retention (--retain, default 90 % of the history by age, and ten
/// runs fewer by count) step by step as the writer takes them, a trim that finds nothing to delete, an hour more of runs
/// written as the writer writes them and swept an hour later, and the database's size after each; for
/// SQLite (a temp file) and PostgreSQL (a database of its own on the server of ACTOR_SCHEDULER_TEST_PG).
/// </summary>
internal static class HistoryCost
{
    private const string Set = "bench";
    private const long TicksPerMinute = TimeSpan.TicksPerMinute;

    public static async Task<string> RunAsync(string[] args)
    {
        var tasks = int.Parse(OptionValue(args, "--tasks") ?? "10000", CultureInfo.InvariantCulture);
        var runs = int.Parse(OptionValue(args, "--runs") ?? "10080", CultureInfo.InvariantCulture);
        var samples = int.Parse(OptionValue(args, "--samples") ?? "500", CultureInfo.InvariantCulture);
        var retain = double.Parse(OptionValue(args, "--retain") ?? "0.9", CultureInfo.InvariantCulture);
        if (runs < 200)
            throw new ArgumentException("--runs must be at least 200: a deep page starts at least half the history back and has a full page behind it.");
        var kinds = (OptionValue(args, "--stores") ?? "sqlite,postgres").Split(',', StringSplitOptions.TrimEntries).ToList();
        var skipped = "";
        if (kinds.Contains(StateStoreVariant.Postgres) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(StateStoreVariant.PostgresVariable)))
        {
            kinds.Remove(StateStoreVariant.Postgres);
            skipped = $"PostgreSQL skipped: {StateStoreVariant.PostgresVariable} is not set (`source .ci/postgres.sh` starts a server).";
            Console.WriteLine("  " + skipped);
        }

        var results = new List<Result>();
        foreach (var kind in kinds)
            results.Add(await MeasureAsync(kind, tasks, runs, samples, Lowered(runs, retain)).ConfigureAwait(false));
        return Table(tasks, runs, samples, Lowered(runs, retain), results) + (skipped.Length > 0 ? Environment.NewLine + skipped + Environment.NewLine : "");
    }

    /// <summary>
    /// The smaller retention swept: keep-for the newest <paramref name="retain"/> of the history, and keep-runs ten runs
    /// fewer than that leaves, so that every task is trimmed by count too.
    /// </summary>
    private static RunHistorySettings Lowered(int runs, double retain) =>
        new(Math.Max(1, (int)Math.Round(runs * retain) - 10), TimeSpan.FromMinutes(Math.Round(runs * retain)));

    private static async Task<Result> MeasureAsync(string kind, int tasks, int runs, int samples, RunHistorySettings lowered)
    {
        var (provider, connection, cleanUp) = Database(kind);
        try
        {
            var db = StateDatabase.Create(provider, connection, TimeSpan.FromMinutes(30), "the benchmark");
            var table = new RunHistoryTable(db, Set, "bench/owner");
            var now = DateTimeOffset.UtcNow;
            now = RunHistoryTable.TimeOf(RunHistoryTable.TicksOf(now) / TicksPerMinute * TicksPerMinute);
            var result = new Result { Kind = kind == StateStoreVariant.Sqlite ? "SQLite" : "PostgreSQL" };

            var clock = Stopwatch.StartNew();
            await FillAsync(db, kind, tasks, runs, now).ConfigureAwait(false);
            result.FillSeconds = clock.Elapsed.TotalSeconds;
            (result.SizeBefore, _) = await SizeAsync(db, connection).ConfigureAwait(false);

            using (var system = ActorSystem.Create("history-bench", "akka.loglevel = WARNING"))
            {
                var writer = system.ActorOf(RunHistoryWriter.Props(table, new RunHistorySettings(runs, TimeSpan.FromDays(3650)), []));
                var random = new Random(42);
                string Task() => "task-" + random.Next(tasks).ToString(CultureInfo.InvariantCulture);
                DateTimeOffset Deep() => now - TimeSpan.FromMinutes(random.Next(runs / 2, runs - 60));
                await TimeAsync(20, () => writer.Ask<RunsPage>(new GetRuns(Task()), TimeSpan.FromSeconds(30))).ConfigureAwait(false); // warm-up
                result.First = await TimeAsync(samples, async () => Check(await writer.Ask<RunsPage>(new GetRuns(Task()), TimeSpan.FromSeconds(30)).ConfigureAwait(false))).ConfigureAwait(false);
                result.Deep = await TimeAsync(samples, async () => Check(await writer.Ask<RunsPage>(new GetRuns(Task(), Deep()), TimeSpan.FromSeconds(30)).ConfigureAwait(false))).ConfigureAwait(false);
                result.Counts = await TimeAsync(Math.Max(10, samples / 10), () => writer.Ask<RunCountsReport>(new GetRunCounts(now.AddDays(-1)), TimeSpan.FromSeconds(30))).ConfigureAwait(false);
                await system.Terminate().ConfigureAwait(false);
            }

            Console.WriteLine(Inv($"  {result.Kind}: pages p50 {result.First.P50:0.00} ms (deep {result.Deep.P50:0.00} ms), counts p50 {result.Counts.P50:0.00} ms; sweeping"));
            var names = Enumerable.Range(0, tasks).Select(n => "task-" + n.ToString(CultureInfo.InvariantCulture)).ToList();
            (result.AgeSweep, result.CountSweep) = await SweepAsync(table, names, lowered, now, result.Kind).ConfigureAwait(false);
            await VacuumAsync(db).ConfigureAwait(false);
            result.SteadySweep = await KeepNewestAsync(table, names, lowered.KeepRuns).ConfigureAwait(false);
            result.SizeAfter = (await SizeAsync(db, connection).ConfigureAwait(false)).Size;

            // An hour more of runs, written as the writer writes them, then swept an hour later: the size stays.
            Console.WriteLine(Inv($"  {result.Kind}: writing an hour of runs"));
            result.Writes = await WriteHourAsync(table, names, runs, now).ConfigureAwait(false);
            var later = await SweepAsync(table, names, lowered, now.AddHours(1), result.Kind).ConfigureAwait(false);
            result.HourSweep = new Step(later.Age.Seconds + later.Count.Seconds, later.Age.Steps + later.Count.Steps, Math.Max(later.Age.MaxStepMs, later.Count.MaxStepMs));
            await VacuumAsync(db).ConfigureAwait(false);
            (result.SizeHourLater, result.SizeInUse) = await SizeAsync(db, connection).ConfigureAwait(false);
            result.RowsAfter = await ScalarAsync(db, $"SELECT COUNT(*) FROM {RunHistoryTable.Runs}").ConfigureAwait(false);
            return result;
        }
        finally
        {
            cleanUp();
        }
    }

    /// <summary>A SQLite temp file or a fresh PostgreSQL database, and what removes it.</summary>
    private static (string Provider, string Connection, Action CleanUp) Database(string kind)
    {
        if (kind == StateStoreVariant.Postgres)
            return ("PostgreSQL", ActorSchedulerEngine.FreshDatabase(Environment.GetEnvironmentVariable(StateStoreVariant.PostgresVariable)!), () => { });
        var directory = Directory.CreateTempSubdirectory("actor-scheduler-history-");
        return ("SQLite.MS", "Data Source=" + Path.Combine(directory.FullName, "state.db"), () =>
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        });
    }

    /// <summary>T tasks' runs, one a minute for R minutes up to <paramref name="now"/>, minute by minute as they would come; 1 in 50 failed.</summary>
    private static async Task FillAsync(StateDatabase db, string kind, int tasks, int runs, DateTimeOffset now)
    {
        var first = RunHistoryTable.TicksOf(now) - (long)runs * TicksPerMinute;
        var minutesPerStatement = Math.Max(1, 100_000 / tasks);
        var series = kind == StateStoreVariant.Postgres
            ? "generate_series(@i0, @i1) AS m(i), generate_series(0::bigint, @tasks - 1) AS t(n)"
            : "m, t";
        var with = kind == StateStoreVariant.Postgres
            ? ""
            : "WITH RECURSIVE m(i) AS (SELECT @i0 UNION ALL SELECT i + 1 FROM m WHERE i < @i1), t(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM t WHERE n < @tasks - 1) ";
        var sql = $"""
            {with}INSERT INTO {RunHistoryTable.Runs} (set_name, task, started_at, ended_at, tick, scheduled_at, duration, outcome, attempts, node, error)
            SELECT '{Set}', 'task-' || n, @first + i * {TicksPerMinute} + n * 1000, @first + i * {TicksPerMinute} + n * 1000 + 500000, i,
              @first + i * {TicksPerMinute}, 500000, CASE WHEN (i + n) % 50 = 0 THEN 'failed' ELSE 'succeeded' END, 1,
              'akka.tcp://bench@10.0.0.1:4053', CASE WHEN (i + n) % 50 = 0 THEN 'the disk /var is full' ELSE NULL END
            FROM {series}
            """;
        await using var connection = await db.OpenAsync(RunHistoryTable.Tables, CancellationToken.None).ConfigureAwait(false);
        if (!db.Postgres) // the state store's mode (StatePlugins)
            await ExecuteAsync(db, connection, "PRAGMA journal_mode=WAL").ConfigureAwait(false);
        foreach (var index in Indexes) // built once at the end: faster than kept up row by row
            await ExecuteAsync(db, connection, $"DROP INDEX IF EXISTS {index}").ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var reported = TimeSpan.Zero;
        for (long i = 0; i < runs; i += minutesPerStatement)
        {
            var last = Math.Min(runs - 1, i + minutesPerStatement - 1);
            await using var command = db.Command(connection, sql, ("i0", i), ("i1", last), ("tasks", (long)tasks), ("first", first));
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            if (clock.Elapsed - reported > TimeSpan.FromSeconds(15))
            {
                reported = clock.Elapsed;
                var rows = (last + 1) * tasks;
                Console.WriteLine(Inv($"  {kind}: {rows:N0} of {(long)runs * tasks:N0} runs written ({rows / clock.Elapsed.TotalSeconds:N0} a second)"));
            }
        }

        foreach (var create in RunHistoryTable.Tables.Where(t => t.StartsWith("CREATE INDEX", StringComparison.Ordinal)))
            await ExecuteAsync(db, connection, create).ConfigureAwait(false);
        Console.WriteLine(Inv($"  {kind}: indexes built after {clock.Elapsed.TotalSeconds:0} s"));

        // The counts of the last day: every task ran once a minute.
        var day = Math.Min(runs, RunCounts.MinutesKept - 1);
        var lastMinute = RunCounts.MinuteOf(now) - 1;
        await using (var minutes = db.Command(connection, kind == StateStoreVariant.Postgres
            ? $"INSERT INTO {RunHistoryTable.Minutes} SELECT '{Set}', 'bench/owner', m, @tasks, @tasks / 50 FROM generate_series(@from, @to) AS s(m)"
            : $"WITH RECURSIVE s(m) AS (SELECT @from UNION ALL SELECT m + 1 FROM s WHERE m < @to) INSERT INTO {RunHistoryTable.Minutes} SELECT '{Set}', 'bench/owner', m, @tasks, @tasks / 50 FROM s",
            ("from", lastMinute - day + 1), ("to", lastMinute), ("tasks", (long)tasks)))
            await minutes.ExecuteNonQueryAsync().ConfigureAwait(false);
        if (kind == StateStoreVariant.Postgres)
        {
            await using var analyze = db.Command(connection, "VACUUM ANALYZE"); // as autovacuum keeps a table that grows
            await analyze.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        Console.WriteLine(Inv($"  {kind}: {(long)runs * tasks:N0} runs written in {clock.Elapsed.TotalSeconds:0} s"));
    }

    /// <summary>The sweep a writer makes at <paramref name="now"/> with <paramref name="lowered"/> retention, in its steps: chunks by age, then every task to keep-runs, then old minutes.</summary>
    private static async Task<(Step Age, Step Count)> SweepAsync(RunHistoryTable table, List<string> names, RunHistorySettings lowered, DateTimeOffset now, string kind)
    {
        var steps = new List<double>();
        var clock = Stopwatch.StartNew();
        var reported = TimeSpan.Zero;
        int deleted;
        do
        {
            var step = Stopwatch.StartNew();
            deleted = await table.DeleteStartedBeforeAsync(now - lowered.KeepFor, RunHistorySweep.DeleteChunk).ConfigureAwait(false);
            steps.Add(step.Elapsed.TotalMilliseconds);
            if (clock.Elapsed - reported > TimeSpan.FromSeconds(15))
            {
                reported = clock.Elapsed;
                Console.WriteLine(Inv($"  {kind}: {steps.Count * (long)RunHistorySweep.DeleteChunk:N0} runs deleted by age"));
            }
        }
        while (deleted == RunHistorySweep.DeleteChunk);

        var age = new Step(clock.Elapsed.TotalSeconds, steps.Count, steps.Max());
        var count = await KeepNewestAsync(table, names, lowered.KeepRuns).ConfigureAwait(false);
        await table.DeleteMinutesBeforeAsync(RunCounts.MinuteOf(now - RunHistorySweep.KeepMinutesFor)).ConfigureAwait(false);
        return (age, count);
    }

    /// <summary>An hour of runs of every task after <paramref name="now"/>, written in the writer's batches; runs a second and the longest batch.</summary>
    private static async Task<(double PerSecond, double MaxBatchMs)> WriteHourAsync(RunHistoryTable table, List<string> names, int runs, DateTimeOffset now)
    {
        var all = new List<(string Task, PeriodicTaskRun Run)>(names.Count * 60);
        for (var minute = 0; minute < 60; minute++)
            for (var n = 0; n < names.Count; n++)
            {
                var start = now + TimeSpan.FromMinutes(minute) + TimeSpan.FromTicks(n * 1000L);
                all.Add((names[n], new PeriodicTaskRun(runs + minute, start, start, TimeSpan.FromMilliseconds(50), "succeeded", 1, "akka.tcp://bench@10.0.0.1:4053")
                {
                    EndedAt = start + TimeSpan.FromMilliseconds(50),
                }));
            }

        var longest = 0.0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < all.Count; i += RunHistoryWriter.MaxRunsPerWrite)
        {
            var batch = Stopwatch.StartNew();
            await table.WriteAsync(all.GetRange(i, Math.Min(RunHistoryWriter.MaxRunsPerWrite, all.Count - i))).ConfigureAwait(false);
            longest = Math.Max(longest, batch.Elapsed.TotalMilliseconds);
        }

        return (all.Count / clock.Elapsed.TotalSeconds, longest);
    }

    private static async Task<Step> KeepNewestAsync(RunHistoryTable table, List<string> names, int keepRuns)
    {
        var steps = new List<double>();
        var clock = Stopwatch.StartNew();
        var reported = TimeSpan.Zero;
        for (var i = 0; i < names.Count;)
        {
            if (clock.Elapsed - reported > TimeSpan.FromSeconds(15))
            {
                reported = clock.Elapsed;
                Console.WriteLine(Inv($"  {i:N0} of {names.Count:N0} tasks trimmed to {keepRuns:N0} runs"));
            }

            var step = Stopwatch.StartNew();
            var (_, done) = await table.KeepNewestAsync(
                names.GetRange(i, Math.Min(RunHistorySweep.TasksPerStep, names.Count - i)), keepRuns, RunHistorySweep.DeleteChunk).ConfigureAwait(false);
            steps.Add(step.Elapsed.TotalMilliseconds);
            i += done;
        }

        return new Step(clock.Elapsed.TotalSeconds, steps.Count, steps.Max());
    }

    /// <summary>The two tables' size (PostgreSQL) or the file's, and the pages in use in the file (SQLite: the rest is free for new rows).</summary>
    private static async Task<(long Size, long InUse)> SizeAsync(StateDatabase db, string connection)
    {
        if (db.Postgres)
            return (await ScalarAsync(db, $"SELECT pg_total_relation_size('{RunHistoryTable.Runs}') + pg_total_relation_size('{RunHistoryTable.Minutes}')").ConfigureAwait(false), 0);
        await ScalarAsync(db, "PRAGMA wal_checkpoint(TRUNCATE)").ConfigureAwait(false);
        var file = new FileInfo(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connection).DataSource).Length;
        var used = (await ScalarAsync(db, "PRAGMA page_count").ConfigureAwait(false) - await ScalarAsync(db, "PRAGMA freelist_count").ConfigureAwait(false))
            * await ScalarAsync(db, "PRAGMA page_size").ConfigureAwait(false);
        return (file, used);
    }

    /// <summary>PostgreSQL's VACUUM, as autovacuum makes after many deletions: their space is then reused by new rows.</summary>
    private static async Task VacuumAsync(StateDatabase db)
    {
        if (db.Postgres)
            await ScalarAsync(db, $"VACUUM {RunHistoryTable.Runs}").ConfigureAwait(false);
    }

    private static string[] Indexes => [RunHistoryTable.Runs + "_by_task", RunHistoryTable.Runs + "_by_start"];

    private static async Task ExecuteAsync(StateDatabase db, DbConnection connection, string sql)
    {
        await using var command = db.Command(connection, sql);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private static async Task<long> ScalarAsync(StateDatabase db, string sql)
    {
        await using var connection = await db.OpenAsync(RunHistoryTable.Tables, CancellationToken.None).ConfigureAwait(false);
        await using DbCommand command = db.Command(connection, sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync().ConfigureAwait(false) ?? 0L, CultureInfo.InvariantCulture);
    }

    private static RunsPage Check(RunsPage page) =>
        page.Runs.Count == GetRuns.DefaultLimit && page.Next is not null && page.Runs[0].StartedAt > page.Runs[^1].StartedAt
            ? page
            : throw new InvalidOperationException($"a page of {page.Task} with {page.Runs.Count} runs: the history is not as written");

    private static async Task<Latency> TimeAsync(int count, Func<Task> call)
    {
        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            await call().ConfigureAwait(false);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        return new Latency(times[(int)Math.Ceiling(count * 0.5) - 1], times[(int)Math.Ceiling(count * 0.99) - 1], times[^1]);
    }

    private static string Table(int tasks, int runs, int samples, RunHistorySettings lowered, List<Result> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"{tasks:N0} tasks with {runs:N0} runs each, one a minute ({(long)tasks * runs:N0} runs; {runs / 1440.0:0.#} days). Pages: GetRuns through a RunHistoryWriter, limit 50, {samples} random tasks each, the newest page and a page starting at a random time between half the history and its last hour; counts: GetRunCounts of the last day (1,440 minutes), {Math.Max(10, samples / 10)} times. Goal: a page under 100 ms."));
        sb.AppendLine();
        sb.AppendLine("| Database | Filled in (s) | Newest page p50 / p99 / max (ms) | Deep page p50 / p99 / max (ms) | Counts of a day p50 / p99 / max (ms) |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var r in results)
            sb.AppendLine(Inv($"| {r.Kind} | {r.FillSeconds:0} | {r.First} | {r.Deep} | {r.Counts} |"));
        sb.AppendLine();
        var trimEvery = Math.Max(1, lowered.KeepRuns / 10);
        sb.AppendLine(Inv($"Retention lowered to keep-for = {lowered.KeepFor.TotalMinutes:N0} minutes and keep-runs = {lowered.KeepRuns:N0}, swept as the writer does, step by step: by age (chunks of {RunHistorySweep.DeleteChunk:N0} runs), then each task to keep-runs (up to {RunHistorySweep.TasksPerStep} tasks and {RunHistorySweep.DeleteChunk:N0} runs a step). Then a trim of every task that finds nothing to delete (with one run a minute a task is due for one every {trimEvery:N0} minutes: a minute's share is a {trimEvery:N0}th of it); an hour of runs of every task written in the writer's batches of {RunHistoryWriter.MaxRunsPerWrite:N0} (runs a second, longest batch), and the sweep an hour later. Sizes: the file (SQLite) or the two tables (PostgreSQL, after VACUUM as autovacuum would make it), filled, swept, an hour later (SQLite: the pages in use in brackets, the rest free for new rows)."));
        sb.AppendLine();
        sb.AppendLine("| Database | By age: s (steps, longest ms) | By count: s (steps, longest ms) | Trim, nothing to delete: s (longest step ms) | A minute's share (ms) | Writes: runs/s (longest batch ms) | An hour later: s (steps, longest ms) | Runs left | Size (MB) |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            sb.AppendLine(Inv($"| {r.Kind} | {r.AgeSweep} | {r.CountSweep} | {r.SteadySweep.Seconds:0.0} ({r.SteadySweep.MaxStepMs:0}) | {r.SteadySweep.Seconds * 1000 / trimEvery:0} | {r.Writes.PerSecond:N0} ({r.Writes.MaxBatchMs:0}) | {r.HourSweep} | {r.RowsAfter:N0} | {Mb(r.SizeBefore)} / {Mb(r.SizeAfter)} / {Mb(r.SizeHourLater)}{(r.SizeInUse > 0 ? $" ({Mb(r.SizeInUse)})" : "")} |"));
        return sb.ToString();
    }

    private static string Mb(long bytes) => Inv($"{bytes / 1e6:N0}");

    private sealed record Latency(double P50, double P99, double Max)
    {
        public override string ToString() => Inv($"{P50:0.00} / {P99:0.00} / {Max:0.0}");
    }

    private sealed record Step(double Seconds, int Steps, double MaxStepMs)
    {
        public override string ToString() => Inv($"{Seconds:0.0} ({Steps:N0}, {MaxStepMs:0})");
    }

    private sealed class Result
    {
        public string Kind { get; init; } = "";

        public double FillSeconds { get; set; }

        public long SizeBefore { get; set; }

        public long SizeAfter { get; set; }

        public long SizeHourLater { get; set; }

        public long SizeInUse { get; set; }

        public long RowsAfter { get; set; }

        public Latency First { get; set; } = new(0, 0, 0);

        public Latency Deep { get; set; } = new(0, 0, 0);

        public Latency Counts { get; set; } = new(0, 0, 0);

        public Step AgeSweep { get; set; } = new(0, 0, 0);

        public Step CountSweep { get; set; } = new(0, 0, 0);

        public Step SteadySweep { get; set; } = new(0, 0, 0);

        public (double PerSecond, double MaxBatchMs) Writes { get; set; }

        public Step HourSweep { get; set; } = new(0, 0, 0);
    }
}
