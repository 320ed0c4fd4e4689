namespace ActorScheduler.Dashboard;

/// <summary>How the console's endpoints behave (docs/dashboard.md).</summary>
public sealed class PeriodicTaskDashboardOptions
{
    /// <summary>
    /// The token every request needs (Authorization: Bearer TOKEN, or the page's first load with ?token=, which sets an
    /// HttpOnly SameSite=Strict cookie), except GET healthz, readyz and metrics. Null: no token is asked for (the
    /// application protects the endpoints with its own authorization).
    /// </summary>
    public string? Token { get; set; }

    /// <summary>Refuse every change (pause, resume, trigger) with 403.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>How many recent runs each task keeps for its detail (default 50).</summary>
    public int RecentRuns { get; set; } = 50;

    /// <summary>
    /// How long the event stream stays silent before it sends a ": ping" comment, which keeps proxies from closing an
    /// idle stream (default 15 s; more than zero).
    /// </summary>
    public TimeSpan PingInterval
    {
        get => _pingInterval;
        set => _pingInterval = value > TimeSpan.Zero
            ? value
            : throw new ArgumentOutOfRangeException(nameof(PingInterval), value, $"PingInterval: {value} is not more than zero.");
    }

    private TimeSpan _pingInterval = TimeSpan.FromSeconds(15);
}
