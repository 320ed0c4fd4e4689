namespace ActorScheduler.Persistence;

// A SQLite file has one writer at a time, and Microsoft.Data.Sqlite retries a write that finds it busy after 150 ms.
// So on SQLite a keeper and its run history's writer take turns (docs/cluster.md, "Run history"): the writer asks before
// each call, the keeper lends the file between two journal writes and starts none until the turn is over.

/// <summary>INTERNAL API. To the keeper: a call of its <see cref="RunHistoryWriter"/> waits for a turn on the SQLite file.</summary>
internal sealed class HistoryTurnWanted
{
    public static readonly HistoryTurnWanted Instance = new();
}

/// <summary>INTERNAL API. From the keeper: no journal write is in flight, and none starts before <see cref="HistoryTurnDone"/>.</summary>
internal sealed class HistoryTurnGranted
{
    public static readonly HistoryTurnGranted Instance = new();
}

/// <summary>INTERNAL API. To the keeper: the call of this turn is over.</summary>
internal sealed class HistoryTurnDone
{
    public static readonly HistoryTurnDone Instance = new();
}
