namespace ActorScheduler.Tasks;

/// <summary>A periodic task as a class, for tasks registered in code or resolved from dependency injection.</summary>
public interface IPeriodicTask
{
    /// <summary>One run. Honour <paramref name="cancellationToken"/>: it is cancelled on timeout and on stop.</summary>
    ValueTask RunAsync(PeriodicTaskContext context, CancellationToken cancellationToken);
}
