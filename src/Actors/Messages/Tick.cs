namespace ActorScheduler.Messages;

/// <summary>
/// Tick number <paramref name="Number"/> (0 = start), sent by the tick scheduler to its manager. Tests may send it
/// themselves to a manager created without a ticker: numbers must increase, and may skip (a pause).
/// </summary>
public sealed record Tick(long Number);
