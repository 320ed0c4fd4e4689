using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using SQLitePCL;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. One keeper's run history in the state store's database (docs/cluster.md, "Run history"):
/// actor_scheduler_runs, a row per run of the set's tasks, and actor_scheduler_run_minutes, the runs and failures that
/// ended in each minute per set and owner (the keeper's persistence id), so that the managers of one set each count
/// their own. Times are 100 ns ticks since 1970-01-01 UTC, durations 100 ns ticks. One call at a time.
/// </summary>
internal sealed class RunHistoryTable(StateDatabase db, string setName, string owner)
{
    public const string Runs = "actor_scheduler_runs";
    public const string Minutes = "actor_scheduler_run_minutes";

    /// <summary>Minutes per INSERT, 3 parameters a row (a write of up to RunHistoryWriter.MaxRunsPerWrite runs rarely spans two).</summary>
    internal const int MinutesPerInsert = 100;

    /// <summary>How long a statement may take.</summary>
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static readonly string[] Tables =
    [
        $"""
        CREATE TABLE IF NOT EXISTS {Runs} (
          set_name TEXT NOT NULL,
          task TEXT NOT NULL,
          started_at BIGINT NOT NULL,
          ended_at BIGINT NOT NULL,
          tick BIGINT NOT NULL,
          scheduled_at BIGINT NOT NULL,
          duration BIGINT NOT NULL,
          outcome TEXT NOT NULL,
          attempts INTEGER NOT NULL,
          node TEXT NULL,
          error TEXT NULL)
        """,
        $"CREATE INDEX IF NOT EXISTS {Runs}_by_task ON {Runs} (set_name, task, started_at)",
        $"CREATE INDEX IF NOT EXISTS {Runs}_by_start ON {Runs} (set_name, started_at)",
        $"""
        CREATE TABLE IF NOT EXISTS {Minutes} (
          set_name TEXT NOT NULL,
          owner TEXT NOT NULL,
          minute BIGINT NOT NULL,
          runs BIGINT NOT NULL,
          failed BIGINT NOT NULL,
          PRIMARY KEY (set_name, owner, minute))
        """,
    ];

    private const string Columns = "started_at, ended_at, tick, scheduled_at, duration, outcome, attempts, node, error";

    /// <summary>Texts whose UTF-8 a table keeps for its writes on SQLite.</summary>
    private const int MaxKeptTexts = 100_000;

    private readonly StateDatabase _db = db;
    private readonly Dictionary<string, byte[]> _utf8 = new(StringComparer.Ordinal);
    private readonly string _set = setName;
    private readonly string _owner = owner;

    /// <summary>The database for messages: its kind and connection string without password.</summary>
    public string Database => _db.Name;

    public string SetName => _set;

    /// <summary>True for SQLite, whose file has one writer at a time (the history's writer then takes turns with the journal).</summary>
    public bool SingleWriter => !_db.Postgres;

    /// <summary>
    /// The table of a keeper with <paramref name="state"/>, or null when the history stays in memory: no SQL store,
    /// run-history = off, a journal-plugin override (the database is the plugin's), or a provider other than SQLite and PostgreSQL.
    /// </summary>
    public static RunHistoryTable? For(StateSettings state, string setName, string owner) =>
        state.Store != StateStore.Sql || !state.RunHistory || state.JournalPlugin.Length > 0 || !StateDatabase.Supports(state.Provider)
            ? null
            : new RunHistoryTable(StateDatabase.Create(state.Provider, state.ConnectionString, Timeout, "the run history"), setName, owner);

    public static long TicksOf(DateTimeOffset time) => time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;

    public static DateTimeOffset TimeOf(long ticks) => new(ticks + DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.Zero);

    /// <summary>Writes <paramref name="runs"/> and adds them to their minutes, in one transaction.</summary>
    public async Task WriteAsync(IReadOnlyList<(string Task, PeriodicTaskRun Run)> runs, CancellationToken ct = default)
    {
        await using var connection = await _db.OpenAsync(Tables, ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await InsertRunsAsync(connection, runs, ct);
        var minutes = new SortedDictionary<long, (long Runs, long Failed)>();
        foreach (var (_, run) in runs)
        {
            var minute = RunCounts.MinuteOf(run.EndedAt ?? run.StartedAt);
            var (count, failed) = minutes.GetValueOrDefault(minute);
            minutes[minute] = (count + 1, failed + (run.Outcome is "failed" or "timed-out" ? 1 : 0));
        }

        var counted = minutes.ToList();
        for (var first = 0; first < counted.Count; first += MinutesPerInsert)
            await AddMinutesAsync(connection, transaction, counted.GetRange(first, Math.Min(MinutesPerInsert, counted.Count - first)), ct);
        await transaction.CommitAsync(ct);
        if (!_db.Postgres)
        {
            // The write-ahead log's pages go into the file here, in this writer's turn, not in a commit of the journal's
            // that finds the log past SQLite's auto-checkpoint size.
            await using var checkpoint = _db.Command(connection, "PRAGMA wal_checkpoint(PASSIVE)");
            await checkpoint.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>
    /// Inserts <paramref name="runs"/>: PostgreSQL by a binary COPY, SQLite by one prepared single-row INSERT stepped
    /// once a run (no statement to parse per row and no wide parameter list to bind; docs/benchmarks.md, "Cost of
    /// recording the start before the run").
    /// </summary>
    private Task InsertRunsAsync(DbConnection connection, IReadOnlyList<(string Task, PeriodicTaskRun Run)> runs, CancellationToken ct) =>
        connection is NpgsqlConnection postgres ? CopyRunsAsync(postgres, runs, ct) : InsertRunsOneByOne(connection, runs);

    private async Task CopyRunsAsync(NpgsqlConnection connection, IReadOnlyList<(string Task, PeriodicTaskRun Run)> runs, CancellationToken ct)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY {Runs} (set_name, task, {Columns}) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var (task, run) in runs)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(_set, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(task, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(TicksOf(run.StartedAt), NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(TicksOf(run.EndedAt ?? run.StartedAt), NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(run.Tick, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(TicksOf(run.ScheduledAt), NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(run.Duration.Ticks, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(run.Outcome, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(run.Attempts, NpgsqlDbType.Integer, ct);
            await (run.Node is { } node ? copy.WriteAsync(node, NpgsqlDbType.Text, ct) : copy.WriteNullAsync(ct));
            await (run.Error is { } error ? copy.WriteAsync(error, NpgsqlDbType.Text, ct) : copy.WriteNullAsync(ct));
        }

        await copy.CompleteAsync(ct);
    }

    /// <summary>
    /// Through SQLitePCL, the library under Microsoft.Data.Sqlite, in the connection's transaction: one statement bound
    /// and stepped a run, its texts' UTF-8 kept (ADO.NET's parameters allocate on every row).
    /// </summary>
    private Task InsertRunsOneByOne(DbConnection connection, IReadOnlyList<(string Task, PeriodicTaskRun Run)> runs)
    {
        var db = ((SqliteConnection)connection).Handle!;
        var sql = $"INSERT INTO {Runs} (set_name, task, {Columns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
        Check(raw.sqlite3_prepare_v2(db, sql, out var statement), db);
        using (statement)
        {
            Check(raw.sqlite3_bind_text(statement, 1, Utf8(_set)), db);
            foreach (var (task, run) in runs)
            {
                raw.sqlite3_bind_text(statement, 2, Utf8(task));
                raw.sqlite3_bind_int64(statement, 3, TicksOf(run.StartedAt));
                raw.sqlite3_bind_int64(statement, 4, TicksOf(run.EndedAt ?? run.StartedAt));
                raw.sqlite3_bind_int64(statement, 5, run.Tick);
                raw.sqlite3_bind_int64(statement, 6, TicksOf(run.ScheduledAt));
                raw.sqlite3_bind_int64(statement, 7, run.Duration.Ticks);
                raw.sqlite3_bind_text(statement, 8, Utf8(run.Outcome));
                raw.sqlite3_bind_int64(statement, 9, run.Attempts);
                _ = run.Node is { } node ? raw.sqlite3_bind_text(statement, 10, Utf8(node)) : raw.sqlite3_bind_null(statement, 10);
                _ = run.Error is { } error ? raw.sqlite3_bind_text(statement, 11, error) : raw.sqlite3_bind_null(statement, 11);
                var done = raw.sqlite3_step(statement);
                raw.sqlite3_reset(statement);
                if (done != raw.SQLITE_DONE)
                    Check(done, db);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>The UTF-8 of a name, an outcome or a node, kept for the next writes (at most <see cref="MaxKeptTexts"/>).</summary>
    private byte[] Utf8(string text)
    {
        if (_utf8.TryGetValue(text, out var bytes))
            return bytes;
        bytes = Encoding.UTF8.GetBytes(text);
        if (_utf8.Count < MaxKeptTexts)
            _utf8[text] = bytes;
        return bytes;
    }

    private static void Check(int code, sqlite3 db)
    {
        if (code != raw.SQLITE_OK)
            throw new SqliteException($"SQLite Error {code}: '{raw.sqlite3_errmsg(db).utf8_to_string()}'.", code);
    }

    /// <summary>Adds runs and failures to their minutes' rows (created when missing).</summary>
    private async Task AddMinutesAsync(
        DbConnection connection, DbTransaction transaction, List<KeyValuePair<long, (long Runs, long Failed)>> minutes, CancellationToken ct)
    {
        await using var command = _db.Command(connection, transaction, "", ("s", _set), ("w", _owner));
        var sql = new StringBuilder($"INSERT INTO {Minutes} (set_name, owner, minute, runs, failed) VALUES ");
        for (var i = 0; i < minutes.Count; i++)
        {
            var (minute, (runs, failed)) = minutes[i];
            sql.Append(i == 0 ? "" : ", ").Append($"(@s, @w, @m{i}, @r{i}, @f{i})");
            StateDatabase.Add(command, $"m{i}", minute);
            StateDatabase.Add(command, $"r{i}", runs);
            StateDatabase.Add(command, $"f{i}", failed);
        }

        sql.Append($" ON CONFLICT (set_name, owner, minute) DO UPDATE SET runs = {Minutes}.runs + excluded.runs, failed = {Minutes}.failed + excluded.failed");
        command.CommandText = sql.ToString();
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The page <paramref name="query"/> asks for among the runs that started at or after <paramref name="oldest"/> and
    /// are among the task's <paramref name="keepRuns"/> newest, as the memory history keeps them (the runs beyond,
    /// waiting for their trim, are not shown). A page further back counts the runs before it, at most keep-runs.
    /// </summary>
    public async Task<RunsPage> PageAsync(GetRuns query, DateTimeOffset oldest, int keepRuns, CancellationToken ct = default)
    {
        await using var connection = await _db.OpenAsync(Tables, ct);
        var newer = 0L;
        if (query.Before is { } before)
        {
            await using var count = _db.Command(connection,
                $"SELECT COUNT(*) FROM (SELECT 1 FROM {Runs} WHERE set_name = @s AND task = @t AND started_at >= @before LIMIT @keep) AS newer",
                ("s", _set), ("t", query.Task), ("before", TicksOf(before)), ("keep", keepRuns));
            newer = Convert.ToInt64(await count.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        }

        var runs = new List<PeriodicTaskRun>(Math.Min(query.Limit + 1, 64));
        var read = Math.Min(query.Limit + 1, keepRuns - newer);
        if (read <= 0)
            return new RunsPage(_set, query.Task, runs, null);
        await using var command = _db.Command(connection, $"""
            SELECT {Columns} FROM {Runs}
            WHERE set_name = @s AND task = @t AND started_at < @before AND started_at >= @oldest
            ORDER BY started_at DESC LIMIT @n
            """,
            ("s", _set), ("t", query.Task), ("before", query.Before is { } b ? TicksOf(b) : long.MaxValue), ("oldest", TicksOf(oldest)), ("n", read));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            runs.Add(new PeriodicTaskRun(
                reader.GetInt64(2), TimeOf(reader.GetInt64(3)), TimeOf(reader.GetInt64(0)), TimeSpan.FromTicks(reader.GetInt64(4)),
                reader.GetString(5), reader.GetInt32(6), reader.IsDBNull(7) ? null : reader.GetString(7))
            {
                EndedAt = TimeOf(reader.GetInt64(1)),
                Error = reader.IsDBNull(8) ? null : reader.GetString(8),
            });
        return RunCounts.Page(_set, query.Task, runs, query.Limit);
    }

    /// <summary>This owner's runs per minute from <paramref name="since"/>, oldest first.</summary>
    public async Task<RunCountsReport> CountsAsync(DateTimeOffset since, CancellationToken ct = default)
    {
        await using var connection = await _db.OpenAsync(Tables, ct);
        await using var command = _db.Command(connection,
            $"SELECT minute, runs, failed FROM {Minutes} WHERE set_name = @s AND owner = @w AND minute >= @m ORDER BY minute",
            ("s", _set), ("w", _owner), ("m", RunCounts.MinuteOf(since)));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var minutes = new List<RunCount>();
        while (await reader.ReadAsync(ct))
            minutes.Add(new RunCount(RunCounts.StartOf(reader.GetInt64(0)), reader.GetInt64(1), reader.GetInt64(2)));
        return new RunCountsReport(_set, minutes);
    }

    /// <summary>Deletes at most <paramref name="chunk"/> of the set's runs that started before <paramref name="cut"/>; returns how many.</summary>
    public Task<int> DeleteStartedBeforeAsync(DateTimeOffset cut, int chunk, CancellationToken ct = default) =>
        ExecuteAsync(_db.Postgres
            ? $"DELETE FROM {Runs} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {Runs} WHERE set_name = @s AND started_at < @cut LIMIT @n))"
            : $"DELETE FROM {Runs} WHERE rowid IN (SELECT rowid FROM {Runs} WHERE set_name = @s AND started_at < @cut LIMIT @n)",
            ct, ("s", _set), ("cut", TicksOf(cut)), ("n", chunk));

    /// <summary>
    /// Trims <paramref name="tasks"/>, in order, to their <paramref name="keepRuns"/> newest runs, deleting at most
    /// <paramref name="chunk"/> runs: each task's keep-runs-th newest is read, then its older runs deleted in a statement
    /// of their own. Returns the runs deleted and how many of the tasks are done (the first one not done may have more).
    /// </summary>
    public async Task<(int Deleted, int Done)> KeepNewestAsync(IReadOnlyList<string> tasks, int keepRuns, int chunk, CancellationToken ct = default)
    {
        await using var connection = await _db.OpenAsync(Tables, ct);
        await using var read = _db.Command(connection,
            $"SELECT started_at FROM {Runs} WHERE set_name = @s AND task = @t ORDER BY started_at DESC LIMIT 1 OFFSET @k",
            ("s", _set), ("t", ""), ("k", keepRuns - 1));
        await using var delete = _db.Command(connection, _db.Postgres
            ? $"DELETE FROM {Runs} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {Runs} WHERE set_name = @s AND task = @t AND started_at < @cut LIMIT @n))"
            : $"DELETE FROM {Runs} WHERE rowid IN (SELECT rowid FROM {Runs} WHERE set_name = @s AND task = @t AND started_at < @cut LIMIT @n)",
            ("s", _set), ("t", ""), ("cut", 0L), ("n", chunk));
        var deleted = 0;
        for (var i = 0; i < tasks.Count; i++)
        {
            read.Parameters[1].Value = tasks[i]; // @t
            if (await read.ExecuteScalarAsync(ct) is not long cut)
                continue; // no more than keep-runs
            delete.Parameters[1].Value = tasks[i];
            delete.Parameters[2].Value = cut; // @cut
            delete.Parameters[3].Value = chunk - deleted; // @n
            deleted += await delete.ExecuteNonQueryAsync(ct);
            if (deleted >= chunk)
                return (deleted, i); // the budget is spent: this task may have more
        }

        return (deleted, tasks.Count);
    }

    /// <summary>Deletes at most <paramref name="chunk"/> runs of <paramref name="task"/> that started before <paramref name="before"/>; returns how many.</summary>
    public Task<int> DeleteTaskAsync(string task, DateTimeOffset before, int chunk, CancellationToken ct = default) =>
        ExecuteAsync(_db.Postgres
            ? $"DELETE FROM {Runs} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {Runs} WHERE set_name = @s AND task = @t AND started_at < @before LIMIT @n))"
            : $"DELETE FROM {Runs} WHERE rowid IN (SELECT rowid FROM {Runs} WHERE set_name = @s AND task = @t AND started_at < @before LIMIT @n)",
            ct, ("s", _set), ("t", task), ("before", TicksOf(before)), ("n", chunk));

    /// <summary>Deletes this owner's minutes before <paramref name="minute"/>; returns how many.</summary>
    public Task<int> DeleteMinutesBeforeAsync(long minute, CancellationToken ct = default) =>
        ExecuteAsync($"DELETE FROM {Minutes} WHERE set_name = @s AND owner = @w AND minute < @m", ct, ("s", _set), ("w", _owner), ("m", minute));

    private async Task<int> ExecuteAsync(string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await _db.OpenAsync(Tables, ct);
        await using var command = _db.Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }
}
