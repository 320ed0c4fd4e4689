using ActorScheduler.Host.Configuration;
using ActorScheduler.Host.Running;
using ActorScheduler.Scheduling;

namespace ActorScheduler.Host.Simulation;

/// <summary>
/// <c>simulate</c>: the task set's schedule in virtual time, with the library's own <see cref="TaskSchedule"/> and
/// <see cref="TickClock"/>. No ActorSystem starts and no task body runs; ticks are processed as fast as the loop goes.
/// The fuzzy delay (random) is not added: tick 1 is at initial-delay.
/// </summary>
internal static class Simulator
{
    public sealed record Result(long LastTick, TimeSpan VirtualTime, IReadOnlyList<SummaryTable.Row> Rows, long TotalRuns);

    /// <summary>Runs ticks 0..<paramref name="lastTick"/>, writing one <c>run</c> event per planned run to <paramref name="events"/>.</summary>
    public static Result Run(HostPlan plan, long lastTick, DateTimeOffset start, EventWriter? events)
    {
        var tasks = plan.Tasks;
        var clock = new TickClock(plan.Settings.InitialDelay, plan.Settings.PeriodicInterval);
        var schedule = new TaskSchedule(tasks.Select(t => t.Options).ToList(), clock, start);
        var runs = new long[tasks.Count];
        var missed = new long[tasks.Count];
        var due = new List<DueRun>(tasks.Count);
        long total = 0;
        for (long tick = 0; tick <= lastTick; tick++)
        {
            due.Clear();
            schedule.Advance(tick, due);
            if (due.Count == 0)
                continue;
            var time = start + clock.OffsetOf(tick);
            foreach (var run in due)
            {
                runs[run.Index]++;
                missed[run.Index] += run.Missed;
                events?.Write("run", tasks[run.Index].Name, tick, time, null, null);
            }

            total += due.Count;
        }

        var rows = tasks.Select((t, i) => new SummaryTable.Row(t.Name, runs[i], null, null, null, null, null, missed[i], null, null)).ToList();
        return new Result(lastTick, clock.OffsetOf(lastTick), rows, total);
    }

    /// <summary>The last tick whose nominal time is within <paramref name="duration"/> of the start.</summary>
    public static long LastTickWithin(HostPlan plan, TimeSpan duration) =>
        new TickClock(plan.Settings.InitialDelay, plan.Settings.PeriodicInterval).LastTickAtOrBefore(duration);
}
