using System.Diagnostics;
using System.Runtime.InteropServices;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Cli;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Host.Tasks;
using ActorScheduler.Messages;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Running;

/// <summary>
/// <c>run</c>: starts the task set and runs until --for elapses, SIGINT/SIGTERM arrives, or (raise-on-error) a task
/// fails. Then it stops ticking, cancels runs in flight (killing command process trees), waits for them up to
/// shutdown-timeout, prints the per-task summary and exits 0 (1 after a raise-on-error failure).
/// </summary>
public static class RunCommand
{
    public static async Task<int> ExecuteAsync(HostPlan plan, TimeSpan? duration, string? eventsPath, TextWriter error)
    {
        using var events = eventsPath is null ? null : EventWriter.Open(eventsPath, flushEachLine: true);
        var eventsToStdout = eventsPath == "-";
        var report = eventsToStdout ? error : Console.Out;
        var failure = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var signals = new StopSignals();

        await using var runtime = HostRuntime.Create(plan, plan.ManagerProps, events, eventsToStdout, failure);
        var manager = await runtime.StartAsync(plan.Source.Source).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var log = runtime.Log;
        log.LogInformation("{Set}: {Count} task(s) from {Source}, tick every {Interval}; {Until}",
            plan.Set.Name, plan.Tasks.Count, plan.Source.Source, Durations.Format(plan.Settings.PeriodicInterval),
            duration is { } d ? $"running for {Durations.Format(d)}" : "Ctrl+C stops");

        using var forElapsed = new CancellationTokenSource();
        var timer = duration is { } limit ? DelayAsync(limit, forElapsed.Token) : Task.Delay(Timeout.Infinite, forElapsed.Token);
        var first = await Task.WhenAny(signals.Stopped, timer, failure.Task).ConfigureAwait(false);
        await forElapsed.CancelAsync().ConfigureAwait(false);

        Exception? failed = first == failure.Task ? failure.Task.Result : null;
        if (first == signals.Stopped)
            log.LogInformation("{Signal} received: stopping (runs in flight are cancelled, waiting up to {Timeout})",
                signals.Stopped.Result, Durations.Format(plan.Settings.ShutdownTimeout));
        else if (failed is null)
            log.LogInformation("--for {Duration} elapsed: stopping", Durations.Format(duration!.Value));

        TaskStatsReport? stats = null;
        try
        {
            var stopped = await manager.Ask<TasksStopped>(StopTasks.Instance, plan.Settings.ShutdownTimeout + TimeSpan.FromSeconds(5))
                .ConfigureAwait(false);
            if (stopped.StillRunning > 0)
                log.LogWarning("{Count} runs were still in flight after shutdown-timeout {Timeout}; their commands are killed",
                    stopped.StillRunning, Durations.Format(plan.Settings.ShutdownTimeout));
            stats = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or ActorNotFoundException)
        {
            log.LogWarning("the task manager did not answer the stop: {Error}", e.Message);
        }

        RunningProcesses.KillAll();
        await runtime.Reporter.Ask<RunReporter.Flushed>(RunReporter.Flush.Instance, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        await runtime.StopAsync().ConfigureAwait(false);
        await runtime.DisposeAsync().ConfigureAwait(false); // flushes the console logger before the summary
        RunningProcesses.KillAll();

        if (stats is not null)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            report.WriteLine();
            report.Write(SummaryTable.Render(
                $"Summary of {plan.Set.Name}: {Math.Max(0, stats.CurrentTick)} ticks in {elapsed.TotalSeconds:0.0} s",
                SummaryTable.FromStats(stats)));
            report.Flush();
        }

        if (failed is null)
            return ExitCodes.Success;
        error.WriteLine(failed is PeriodicTaskFailedException f
            ? $"error: task '{f.TaskName}' failed and raise-on-error is on: {ConfigLoader.OneLine(f.Message)}"
            : $"error: the task manager failed: {ConfigLoader.OneLine(failed.Message)}");
        return ExitCodes.TaskFailed;
    }

    /// <summary>Task.Delay for any duration (Task.Delay itself stops at about 49 days).</summary>
    private static async Task DelayAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            var left = TimeSpan.FromSeconds((double)(end - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            await Task.Delay(left < TimeSpan.FromDays(1) ? left : TimeSpan.FromDays(1), cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>SIGINT and SIGTERM as a task, instead of the default termination; a second signal forces the exit.</summary>
public sealed class StopSignals : IDisposable
{
    private readonly TaskCompletionSource<string> _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public StopSignals()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => OnSignal(c, "SIGINT"));
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => OnSignal(c, "SIGTERM"));
    }

    /// <summary>Completes with the signal's name.</summary>
    public Task<string> Stopped => _stopped.Task;

    private void OnSignal(PosixSignalContext context, string name)
    {
        context.Cancel = true;
        if (_stopped.TrySetResult(name))
            return;
        // Second signal: the operator does not want to wait for the graceful stop.
        RunningProcesses.KillAll();
        Console.Error.WriteLine($"{name} again: exiting now");
        Environment.Exit(ExitCodes.TaskFailed);
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
    }
}
