using System.Collections.Concurrent;

namespace AspNetService;

/// <summary>An application service the tasks use: sessions in memory, each with an expiry time.</summary>
public sealed class SessionStore(TimeProvider clock)
{
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _sessions = new();

    public int Count => _sessions.Count;

    public Guid Open(TimeSpan lifetime)
    {
        var id = Guid.NewGuid();
        _sessions[id] = clock.GetUtcNow() + lifetime;
        return id;
    }

    /// <summary>Removes the sessions that expired; returns how many.</summary>
    public int RemoveExpired()
    {
        var now = clock.GetUtcNow();
        var removed = 0;
        foreach (var (id, expires) in _sessions)
            if (expires <= now && _sessions.TryRemove(id, out _))
                removed++;
        return removed;
    }
}
