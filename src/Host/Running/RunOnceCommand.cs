using ActorScheduler.Dashboard;
using ActorScheduler.Runtime;
using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Cli;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Host.Tasks;
using ActorScheduler.Messages;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Running;

/// <summary>
/// <c>run-once TASK</c>: runs one task once, now, in the same ActorSystem, manager and runner as <c>run</c> (its timeout
/// applies), with no ticker. Exit 0 when the run succeeds, 1 when it fails or times out. The ActorSystem is local even
/// when the file configures a cluster (run-once joins no cluster), a cluster-scoped task runs here, and nothing is read
/// from or written to the saved state.
/// </summary>
internal static class RunOnceCommand
{
    public static async Task<int> ExecuteAsync(HostPlan plan, string taskName, TextWriter error)
    {
        var task = plan.Tasks.FirstOrDefault(t => t.Name == taskName);
        if (task is null)
        {
            var closest = Suggestions.Closest(taskName, plan.Tasks.Select(t => t.Name));
            throw new HostConfigurationException(
                $"run-once: no task named '{taskName}' in {plan.Source.Source}{(closest is null ? "" : $"; did you mean '{closest}'?")} " +
                $"(tasks: {(plan.Tasks.Count == 0 ? "none" : string.Join(", ", plan.Tasks.Select(t => t.Name)))}).");
        }

        var outcome = new TaskCompletionSource<PeriodicTaskEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var failure = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var signals = new StopSignals();
        var props = ClusterPeriodicTasks.LocalManagerProps(plan.Set, plan.Settings, withTicker: false);
        await using var runtime = HostRuntime.Create(
            plan,
            context => new ClusterTaskSet(context.ActorOf(props, PeriodicTasks.ActorName(plan.Set.Name)), new Dictionary<string, IActorRef>()),
            events: null, eventsToStdout: false, failure,
            e =>
            {
                if (e is PeriodicTaskSucceeded or PeriodicTaskFailed or PeriodicTaskTimedOut && e.Task == taskName)
                    outcome.TrySetResult(e);
            },
            localOnly: true);
        CommandLauncher.Prepare(runtime.Log, hasCommands: plan.Commands.ContainsKey(taskName));
        var manager = (await runtime.StartAsync(plan.Source.Source).ConfigureAwait(false)).NodeTasks;
        if (task.Options.IsDisabled)
            runtime.Log.LogInformation("{Task} is disabled in its schedule; run-once runs it anyway", taskName);

        await manager.Ask<TaskTriggered>(new TriggerTask(taskName), TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var first = await Task.WhenAny(outcome.Task, signals.Stopped).ConfigureAwait(false);
        if (first == signals.Stopped)
            runtime.Log.LogInformation("{Signal} received: cancelling the run", signals.Stopped.Result);

        await manager.Ask<TasksStopped>(StopTasks.Instance, plan.Settings.ShutdownTimeout + TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        RunningProcesses.KillAll();
        var result = first == outcome.Task ? outcome.Task.Result : await WaitBriefly(outcome.Task).ConfigureAwait(false);
        await runtime.StopAsync().ConfigureAwait(false);
        await runtime.DisposeAsync().ConfigureAwait(false);

        switch (result)
        {
            case PeriodicTaskSucceeded:
                return ExitCodes.Success;
            case PeriodicTaskFailed f:
                error.WriteLine($"error: task '{taskName}' failed: {EventJson.ErrorText(f.Error)}");
                return ExitCodes.TaskFailed;
            case PeriodicTaskTimedOut t:
                error.WriteLine($"error: task '{taskName}' failed: {t.Error}");
                return ExitCodes.TaskFailed;
            default:
                error.WriteLine($"error: task '{taskName}' did not finish");
                return ExitCodes.TaskFailed;
        }
    }

    private static async Task<PeriodicTaskEvent?> WaitBriefly(Task<PeriodicTaskEvent> outcome) =>
        await Task.WhenAny(outcome, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false) == outcome ? outcome.Result : null;
}
