namespace ActorScheduler.Testing;

/// <summary>
/// Tick number <paramref name="Number"/> (0 = start), sent by the tick scheduler to its manager. Tests may send it
/// themselves to a manager created without a ticker: numbers must increase, and may skip (a pause).
/// </summary>
public sealed record Tick(long Number);

/// <summary>Asks a manager to answer <see cref="Ticked"/> once it has processed tick <paramref name="Tick"/>.</summary>
/// <remarks>Tests use it to know the ticker has started (tick 0) before advancing a TestScheduler, and that a tick has
/// been dispatched before asserting.</remarks>
public sealed record NotifyWhenTicked(long Tick);

/// <summary>The answer to <see cref="NotifyWhenTicked"/>.</summary>
public sealed record Ticked(long Tick);
