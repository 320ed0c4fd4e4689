namespace ActorScheduler.Benchmarks.Harness;

/// <summary>The "How it measures" section of docs/benchmarks.md: what each figure is and how every engine is run.</summary>
internal static class ReportMethod
{
    public const string Text = """
        ## How it measures

        - **One process per engine and workload.** The harness re-invokes itself with `--worker`, so every engine runs
          with the same runtime, GC settings and warm-up rules; the engines' order alternates from one workload to the next.
        - **Same body, same rules.** Every engine runs the same body: it reads the monotonic clock (Stopwatch) and records
          the run. Overlap rule everywhere: a run is skipped while the task's last run is in flight (ActorScheduler's
          default `overlap = skip`; Quartz's `[DisallowConcurrentExecution]`; a flag in the Akka actor; the PeriodicTimer
          loop awaits the body; nova's loop runs inline). Quartz runs 10 worker threads (its default, and the only engine
          where the number of workers is a setting); everything else in Quartz is its default (RAMJobStore, misfire
          threshold 60 s, one trigger acquired per scheduler loop).
        - **Engines.** ActorScheduler: the real library, a `PeriodicTaskSet` of N tasks with `spacing = T` under a
          `PeriodicTaskManager` with `periodic-interval = T` and the precise tick source, per-run events on. Quartz.NET:
          one job and one simple trigger (every T, starting at start + T) per task. Akka timers: one actor per task with
          `IWithTimers.StartPeriodicTimer`, the body run with `Task.Run(...)` and a continuation that tells the actor it ended. PeriodicTimer: one
          `PeriodicTimer` per task created at start, and an async loop per task. nova loop: one thread waking every T that
          walks the skip table and runs every task inline, one after another (oslo's FixedIntervalLoopingCall).
        - **Start.** Each engine builds what is not the schedule first (ActorSystem, Quartz scheduler, the Akka actors,
          the task declarations) and runs a warm-up (one task run once) so that JIT compilation is not measured; then the
          harness takes its start time and starts the schedule. Engines that take a start time (Quartz, the Akka actors)
          are given it; ActorScheduler is started as an application starts it (`StartPeriodicTasks`), and counts its
          ticks from that call.
        - **Lateness.** A run serves the latest due time of its task at or before the moment it starts (start + k x T;
          a run up to min(T/10, 10 ms) early serves the coming one: Quartz fires up to a few ms early), and its lateness is the time since that due time
          (HdrHistogram, microseconds). Due times passed over without a run are not delivered: that is what the common
          overlap rule (skip a run while the last is in flight) does with them, and an engine that instead runs a
          backlog late (Quartz fires every missed trigger, up to its 60 s misfire threshold) shows it the same way, as
          runs not delivered, while each of its late runs is measured against the due time it starts in. So lateness
          stays below T, and falling behind shows in the delivered column. The first due times (warm-up) are not
          counted, as runs or in the two columns below. All tasks share one phase: on W2 and W3 every task is due at
          the same instant, so p99 there is bounded below by the time an engine needs to start that many runs.
        - **Second runs and off-grid runs.** Two counts that the lateness rule keeps out of the delivered column.
          *Second runs*: runs of an occurrence (one due time of one task) that already ran, a bug in any engine. They
          are counted exactly where the engine says which occurrence a run is for: ActorScheduler by the run's tick
          (`PeriodicTaskContext.Tick`; with `spacing = T = periodic-interval` one tick is one due time), Quartz.NET by
          the trigger's scheduled fire time (`IJobExecutionContext.ScheduledFireTimeUtc`, which a misfired, late fire
          keeps); a run whose id is not above the task's last one is a second run, and counts neither as delivered nor
          as off-grid. Akka timers, PeriodicTimer and nova's loop give a run no such id: "n/a". *Off-grid*: every other
          run that starts in a period whose due time was already served, the harness's reading by the clock alone: a
          run late by about a period (one more than T - min(T/10, 10 ms) late lands in the next period, so the run of
          that period is off-grid; Quartz's backlog fires, each for its own earlier fire time, land there too), or one
          early by more than min(T/10, 10 ms). For the engines without an id, a second run would also be counted here.
          Before the two were told apart (the run of 2026-12-01 and earlier), one "Duplicates" column held both.
        - **Delivered / demanded.** Demanded: N x (due times in the window), less the hung task in W5. Delivered: due
          times served by a run.
        - **Trials.** W1, W2 and W5 decide goals set within a few milliseconds, on a machine shared with other work:
          each engine runs them 3 times, the engines' order alternating from one trial to the next, and the row shown
          (and the goal) is the engine's trial with the median p99; the p99 of every trial is shown beside it. The
          other workloads run once.
        - **Warm-up of 6 s.** The window opens 6 s after the start, for every engine, to measure the steady state a
          long-running service sees: the runtime's tiered compilation moves hot methods from instrumented (PGO) code to
          optimised code a few seconds after start-up, and with a 2 s warm-up one ActorScheduler tick about 4.3 s after
          the start was 5-7 ms late in every W1 run (not with `DOTNET_TieredPGO=0`); Quartz's lateness also falls with
          the longer warm-up.
        - **Warm-up and garbage collection.** Half a period before the last warm-up due time the harness forces a
          full, blocking collection (two in a row) in every engine's process: the first collections after start-up
          promote what the engine built while starting (Quartz's triggers, ActorScheduler's runners created on their first run), a
          one-time cost that belongs to start-up, not to the steady state the window measures. Bytes per run: bytes
          allocated by the whole process over the window, over runs delivered. GCs (pause ms): collections during the
          window and the total time the runtime was paused for them.
        - **CPU per million runs.** Process CPU time over the window (from half a period before the first counted due
          time to the end of the grace), over runs delivered, times a million. It includes each engine's timer threads.
        - **Idle CPU (W4).** 100,000 tasks every 60 s: the process's CPU time over a window with nothing due, after the
          start-up work has settled, as a percentage of one core.
        - **Memory per registered task.** Heap after a forced, compacting full GC with the 100,000 tasks of W4 registered
          (before any is due), minus the heap of the same engine with no task (mem0), over 100,000. It includes the
          harness's 8 bytes per task and the task's delegate.
        - **Start to first run.** 100,000 tasks all due at start: time from the start call to the first body run.
        - **Largest sustained rate.** Tasks every 100 ms, more of them each step, until an engine fails the W2/W3
          criterion (at least 99.9% delivered, p99 under 20 ms); the largest demanded rate that passed.
        - **Hung workers.** A worker that gives no result within its window plus 60 s is killed and run once more, marked
          "2nd attempt" in the table. The Akka timers engine used to hang now and then: a thousand actors arming their
          first timers at once on a cold Akka scheduler held every thread-pool thread; it now starts the scheduler first.
        - **Recovery.** ActorScheduler only (the other engines keep nothing across a restart): 10,000 tasks with
          `spacing = 1h` and `actor-scheduler.state` on a SQLite file, a snapshot after every event; one ActorSystem
          starts them, lets a tick pass, saves and reads the next due time of one task; a second one starts the same set
          on the same file, and the time from its start to its first answer to `GetTaskStats` (given once the set has
          recovered) is the figure. The answer must show that task due at the saved time (on the second system's first
          tick at or after it), not an hour after the second start as on a first start; tick numbers continue across a
          restart, so the due tick alone does not tell the two apart. (Up to 2026-12-01: tick-counted tasks, checked by
          their due tick.)
        - **Isolation (W5).** 1,000 tasks every 100 ms; task 500 blocks its thread forever on its first run. Counted:
          the other 999.
        - **Calendar tasks (W6).** 10,000 tasks `* * * * * *` (every whole second of the wall clock): ActorScheduler's
          cron tasks at the default periodic interval (60 s: they run between ticks, woken at their occurrence),
          beside Quartz.NET's cron triggers (`* * * * * ?`, RAMJobStore, 10 threads). The epoch is a whole second, so the
          due times are epoch + k x 1 s; each run's occurrence id is its scheduled time.
        """;
}
