using System.Globalization;
using ActorScheduler.Configuration;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. With distribution = sharded, the buckets of one role that received a task added at run time
/// (actor_scheduler_buckets in the state store's database): a bucket with no task in the set every node starts is
/// started only when it is listed there, so that its journal, which keeps the addition, is read again after a restart,
/// a hand-over or a fail-over (docs/cluster.md, "Adding cluster tasks at run time").
/// </summary>
internal sealed class BucketTable
{
    public const string Table = "actor_scheduler_buckets";

    private static readonly string[] Tables =
    [
        $"""
        CREATE TABLE IF NOT EXISTS {Table} (
          set_name TEXT NOT NULL,
          role TEXT NOT NULL,
          bucket INTEGER NOT NULL,
          PRIMARY KEY (set_name, role, bucket))
        """,
    ];

    /// <summary>How long a call may take, the connection included: stats wait for a read.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    private readonly StateDatabase _db;
    private readonly string _set;
    private readonly string _role;

    private BucketTable(StateDatabase db, string setName, string role)
    {
        _db = db;
        _set = setName;
        _role = role;
    }

    /// <summary>The database for messages: its kind and connection string without password.</summary>
    public string Database => _db.Name;

    /// <summary>
    /// The table of a set's role with <paramref name="state"/>, or null when there is none: no SQL store, a
    /// journal-plugin override (the database is the plugin's), or a provider other than SQLite and PostgreSQL.
    /// </summary>
    public static BucketTable? For(StateSettings state, string setName, string role) =>
        state.Store != StateStore.Sql || state.JournalPlugin.Length > 0 || !StateDatabase.Supports(state.Provider)
            ? null
            : new BucketTable(StateDatabase.Create(state.Provider, state.ConnectionString, Timeout, "the sharded buckets"), setName, role);

    /// <summary>Lists <paramref name="bucket"/> (listing it again changes nothing).</summary>
    public async Task AddAsync(int bucket)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        var ct = deadline.Token;
        await using var connection = await _db.OpenAsync(Tables, ct);
        await using var command = _db.Command(connection,
            $"INSERT INTO {Table} (set_name, role, bucket) VALUES (@s, @r, @b) ON CONFLICT (set_name, role, bucket) DO NOTHING",
            ("s", _set), ("r", _role), ("b", bucket));
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The buckets listed, by number.</summary>
    public async Task<IReadOnlyList<int>> ReadAsync()
    {
        using var deadline = new CancellationTokenSource(Timeout);
        var ct = deadline.Token;
        await using var connection = await _db.OpenAsync(Tables, ct);
        await using var command = _db.Command(connection,
            $"SELECT bucket FROM {Table} WHERE set_name = @s AND role = @r ORDER BY bucket", ("s", _set), ("r", _role));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var buckets = new List<int>();
        while (await reader.ReadAsync(ct))
            buckets.Add(Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture));
        return buckets;
    }
}
