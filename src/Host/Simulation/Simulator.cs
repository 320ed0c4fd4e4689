using ActorScheduler.Host.Configuration;
using ActorScheduler.Host.Running;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;

namespace ActorScheduler.Host.Simulation;

/// <summary>
/// <c>simulate</c>: the task set's schedule in virtual time, with the library's own <see cref="TaskSchedule"/> and
/// <see cref="TickClock"/>. No ActorSystem starts and no task body runs; ticks are processed as fast as the loop goes.
/// The fuzzy delay (random) is not added: tick 1 is at initial-delay. Tick 0 is at the given start, the wall-clock time
/// calendar tasks are planned from; a calendar run comes at its occurrence, numbered with the tick before it.
/// </summary>
/// <remarks>
/// A task's schedule does not depend on the other tasks', so the tasks are cut into contiguous parts, each with its
/// own <see cref="TaskSchedule"/>, planned side by side a block of ticks at a time; each part formats its own run
/// lines, and the lines of a tick are written part after part, which is registration order (calendar runs between two
/// ticks go with the tick before them, so within one tick's span a part's lines are in time order). With events, the next
/// block is planned while the last one is written (each part has two line buffers).
/// </remarks>
internal static class Simulator
{
    /// <summary>Ticks planned per block (bounds the memory of the lines waiting to be written).</summary>
    private const int BlockTicks = 4096;

    /// <summary>Fewer tasks than this are planned in one part: splitting would cost more than it saves.</summary>
    private const int MinTasksPerPart = 8;

    public sealed record Result(long LastTick, TimeSpan VirtualTime, IReadOnlyList<SummaryTable.Row> Rows, long TotalRuns);

    /// <summary>Runs ticks 0..<paramref name="lastTick"/>, writing one <c>run</c> event per planned run to <paramref name="events"/>.</summary>
    /// <param name="start">The wall-clock time of tick 0.</param>
    public static Result Run(HostPlan plan, long lastTick, DateTimeOffset start, EventWriter? events)
    {
        var tasks = plan.Tasks;
        var clock = new TickClock(plan.Settings.InitialDelay, plan.Settings.PeriodicInterval);
        var partCount = Math.Clamp(Math.Min(Environment.ProcessorCount, tasks.Count / MinTasksPerPart), 1, 4);
        var parts = new Part[partCount];
        for (int p = 0, from = 0; p < partCount; p++)
        {
            var to = tasks.Count * (p + 1) / partCount;
            parts[p] = new Part(tasks, from, to, clock, start, lastTick, events is not null);
            from = to;
        }

        void Plan(long first, int slot)
        {
            var last = Math.Min(lastTick, first + BlockTicks - 1);
            if (partCount == 1)
                parts[0].Plan(first, last, slot);
            else
                Parallel.For(0, partCount, p => parts[p].Plan(first, last, slot));
        }

        if (events is null)
        {
            for (long first = 0; first <= lastTick; first += BlockTicks)
                Plan(first, 0);
        }
        else
        {
            var planning = Task.Run(() => Plan(0, 0));
            for (long first = 0, block = 0; first <= lastTick; first += BlockTicks, block++)
            {
                planning.GetAwaiter().GetResult();
                var slot = (int)(block % 2);
                var next = first + BlockTicks;
                planning = next <= lastTick ? Task.Run(() => Plan(next, 1 - slot)) : Task.CompletedTask;
                var ticks = Math.Min(lastTick, next - 1) - first;
                for (var i = 0; i <= ticks; i++)
                    foreach (var part in parts)
                        events.WriteRaw(part.LinesOf(slot, (int)i));
            }

            planning.GetAwaiter().GetResult();
        }

        var rows = parts.SelectMany(p => p.Rows()).ToList();
        return new Result(lastTick, clock.OffsetOf(lastTick), rows, parts.Sum(p => p.Total));
    }

    /// <summary>The last tick whose nominal time is within <paramref name="duration"/> of the start.</summary>
    public static long LastTickWithin(HostPlan plan, TimeSpan duration) =>
        new TickClock(plan.Settings.InitialDelay, plan.Settings.PeriodicInterval).LastTickAtOrBefore(duration);

    /// <summary>Tasks [from, to) with their own schedule, counts and, with events, the run lines of the current block.</summary>
    private sealed class Part
    {
        private readonly IReadOnlyList<PeriodicTaskDefinition> _tasks;
        private readonly int _from;
        private readonly TickClock _clock;
        private readonly DateTimeOffset _start;
        private readonly long _lastTick;
        private readonly TaskSchedule _schedule;
        private readonly long[] _runs;
        private readonly long[] _missed;
        private readonly List<DueRun> _due = [];
        private readonly EventWriter.RunLines[]? _lines;

        public Part(IReadOnlyList<PeriodicTaskDefinition> tasks, int from, int to, TickClock clock, DateTimeOffset start, long lastTick, bool withLines)
        {
            _lastTick = lastTick;
            _tasks = tasks;
            _from = from;
            _clock = clock;
            _start = start;
            _schedule = new TaskSchedule(Enumerable.Range(from, to - from).Select(i => tasks[i].Options).ToList(), clock, start);
            _runs = new long[to - from];
            _missed = new long[to - from];
            _lines = withLines
                ? [.. Enumerable.Range(0, 2).Select(_ => new EventWriter.RunLines(Enumerable.Range(from, to - from).Select(i => tasks[i].Name), BlockTicks))]
                : null;
        }

        public long Total { get; private set; }

        /// <summary>Plans ticks <paramref name="first"/>..<paramref name="last"/>, their lines into buffer <paramref name="slot"/>.</summary>
        public void Plan(long first, long last, int slot)
        {
            var lines = _lines?[slot];
            lines?.Clear();
            for (var tick = first; tick <= last; tick++)
            {
                _due.Clear();
                _schedule.Advance(tick, _due);
                Count(lines, tick, _clock.OffsetOf(tick));

                // Calendar occurrences between this tick and the next run at their own time, numbered with this tick.
                var next = _clock.OffsetOf(tick + 1);
                while (tick < _lastTick && _schedule.NextWake() is { } wake && wake < next)
                {
                    _due.Clear();
                    _schedule.AdvanceTo(wake, _due);
                    Count(lines, tick, wake);
                }

                lines?.EndTick();
            }
        }

        private void Count(EventWriter.RunLines? lines, long tick, TimeSpan at)
        {
            if (_due.Count == 0)
                return;
            foreach (var run in _due)
            {
                _runs[run.Index]++;
                _missed[run.Index] += run.Missed;
            }

            Total += _due.Count;
            lines?.Add(_due, tick, _start + at);
        }

        /// <summary>The lines of the <paramref name="i"/>-th tick of the block in buffer <paramref name="slot"/>.</summary>
        public ReadOnlySpan<byte> LinesOf(int slot, int i) => _lines![slot].Of(i);

        public IEnumerable<SummaryTable.Row> Rows() =>
            _runs.Select((runs, i) => new SummaryTable.Row(_tasks[_from + i].Name, runs, null, null, null, null, null, _missed[i], null, null));
    }
}
