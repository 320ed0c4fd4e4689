namespace ActorScheduler;

/// <summary>A task declared wrongly in code: an unsupported method signature, two tasks with one name, bad options.</summary>
public sealed class PeriodicTaskDefinitionException(string message) : Exception(message);
