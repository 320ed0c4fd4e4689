namespace ActorScheduler.Tasks;

internal static class OptionsValidation
{
    /// <summary>Checks the rules that hold however options were declared; <paramref name="where"/> names the source.</summary>
    public static void Validate(PeriodicTaskOptions options, string where)
    {
        if (options.TicksBetweenRuns is not null && options.Spacing is not null)
            throw new PeriodicTaskDefinitionException($"{where}: set ticks-between-runs or spacing, not both.");
        if (options.TicksBetweenRuns is < 0)
            throw new PeriodicTaskDefinitionException($"{where}: ticks-between-runs must be >= 0, got {options.TicksBetweenRuns}.");
        if (options.Spacing == TimeSpan.Zero)
            throw new PeriodicTaskDefinitionException($"{where}: spacing must be > 0 (or negative to disable the task), got 0.");
        if (options.Timeout is { } t && t <= TimeSpan.Zero)
            throw new PeriodicTaskDefinitionException($"{where}: timeout must be > 0 or infinite, got {Durations.Format(t)}.");
        if (options.MisfireLimit < 1)
            throw new PeriodicTaskDefinitionException($"{where}: misfire-limit must be >= 1, got {options.MisfireLimit}.");
        if (options.Role.Length > 0 && options.Scope != TaskScope.Cluster)
            throw new PeriodicTaskDefinitionException($"{where}: role applies only to scope = cluster.");
    }
}
