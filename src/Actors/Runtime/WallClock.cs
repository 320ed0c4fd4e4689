using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. The wall clock a manager reads calendar occurrences from: the settings' <see cref="TimeProvider"/>, or
/// by default the system's under Akka's default scheduler and the scheduler's own clock under any other, so that a
/// TestScheduler test needs no setting (docs/architecture.md, "Calendar wakes and the wall clock").
/// </summary>
internal static class WallClock
{
    public static TimeProvider For(ActorSystem system, TimeProvider? configured) =>
        configured ?? (system.Scheduler is HashedWheelTimerScheduler ? TimeProvider.System : new SchedulerTime(system.Scheduler));

    /// <summary>The scheduler's <c>Now</c> as a wall clock (virtual under TestScheduler).</summary>
    private sealed class SchedulerTime(IScheduler scheduler) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => scheduler.Now.ToUniversalTime();
    }
}
