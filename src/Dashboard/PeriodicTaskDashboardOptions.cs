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
}
