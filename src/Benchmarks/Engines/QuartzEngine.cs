using System.Collections.Specialized;
using Quartz;
using Quartz.Impl;

namespace ActorScheduler.Benchmarks.Engines;

/// <summary>
/// Quartz.NET 3.x with its in-memory job store (RAMJobStore): one job per task with [DisallowConcurrentExecution] and
/// a simple trigger every T starting at epoch + T, on a thread pool of <see cref="EngineSpec.Workers"/> threads.
/// Everything else is Quartz's default (misfire threshold 60 s, one trigger acquired per scheduler loop).
/// </summary>
public sealed class QuartzEngine(bool cron = false) : IEngine, IDelayedStart
{
    private IScheduler? _scheduler;
    private EngineSpec? _spec;

    internal static TaskBody Body { get; private set; } = (_, _, _) => ValueTask.CompletedTask;

    public string Name => cron ? EngineNames.QuartzCron : EngineNames.Quartz;

    /// <summary>With cron triggers, the occurrences are whole seconds of the wall clock.</summary>
    public Task<long> ScheduleEpochAsync(long epoch, DateTimeOffset epochUtc) =>
        Task.FromResult(cron ? Occurrence.WholeSecondEpoch(epoch, epochUtc) : epoch);

    public async Task PrepareAsync(EngineSpec spec, TaskBody body)
    {
        _spec = spec;
        var properties = new NameValueCollection
        {
            ["quartz.scheduler.instanceName"] = "bench",
            ["quartz.threadPool.maxConcurrency"] = spec.Workers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["quartz.jobStore.type"] = "Quartz.Simpl.RAMJobStore, Quartz",
        };
        _scheduler = await new StdSchedulerFactory(properties).GetScheduler().ConfigureAwait(false);

        // Warm-up, as for every engine: one job run once, so that the real start does not pay for JIT compilation.
        var warmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Body = (_, _, _) =>
        {
            warmed.TrySetResult();
            return ValueTask.CompletedTask;
        };
        await _scheduler.Start().ConfigureAwait(false);
        await _scheduler.ScheduleJob(
            JobBuilder.Create<BenchJob>().WithIdentity("warmup").UsingJobData("index", 0).Build(),
            TriggerBuilder.Create().WithIdentity("warmup").StartNow().Build()).ConfigureAwait(false);
        await warmed.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        await _scheduler.Standby().ConfigureAwait(false);
        Body = body;
    }

    public async Task StartAsync(long epoch, DateTimeOffset epochUtc)
    {
        var spec = _spec!;
        var first = spec.FirstRunAtStart ? epochUtc : epochUtc + spec.Period;
        var jobs = new Dictionary<IJobDetail, IReadOnlyCollection<ITrigger>>(spec.Tasks);
        for (var i = 0; i < spec.Tasks; i++)
        {
            var job = JobBuilder.Create<BenchJob>()
                .WithIdentity("t" + i)
                .UsingJobData("index", i)
                .Build();
            var trigger = cron
                ? TriggerBuilder.Create().WithIdentity("t" + i).WithCronSchedule("* * * * * ?").Build()
                : TriggerBuilder.Create()
                    .WithIdentity("t" + i)
                    .StartAt(first)
                    .WithSimpleSchedule(s => s.WithInterval(spec.Period).RepeatForever())
                    .Build();
            jobs.Add(job, [trigger]);
        }

        await _scheduler!.ScheduleJobs(jobs, replace: true).ConfigureAwait(false);
        await _scheduler.Start().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_scheduler is not null)
            await _scheduler.Shutdown(waitForJobsToComplete: false).ConfigureAwait(false);
    }

    [DisallowConcurrentExecution]
    public sealed class BenchJob : IJob
    {
        public Task Execute(IJobExecutionContext context)
        {
            var index = context.MergedJobDataMap.GetInt("index");
            // The trigger's scheduled fire time names the occurrence: a late (misfired) fire keeps its own.
            var occurrence = context.ScheduledFireTimeUtc?.UtcTicks ?? Occurrence.None;
            var run = Body(index, occurrence, context.CancellationToken);
            return run.IsCompletedSuccessfully ? Task.CompletedTask : run.AsTask();
        }
    }
}
