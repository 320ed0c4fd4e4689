using System.Diagnostics;
using System.Runtime.InteropServices;
using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Cli;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Host.Tasks;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Running;

/// <summary>
/// <c>run</c>: runs the task set until --for elapses, a signal arrives, a task fails with raise-on-error, or the node is
/// downed; then stops it gracefully, prints the summary and exits 0, 1 or 3 (docs/host.md; docs/architecture.md,
/// "The console host").
/// </summary>
internal static class RunCommand
{
    /// <summary>How long the summary waits for the cluster singleton's statistics.</summary>
    private static readonly TimeSpan ClusterStatsTimeout = TimeSpan.FromSeconds(3);

    /// <summary>When the cluster statistics are first asked (see <see cref="WarmUpClusterStatsAsync"/>).</summary>
    private static readonly TimeSpan WarmUpAfter = TimeSpan.FromSeconds(5);

    public static async Task<int> ExecuteAsync(HostPlan plan, TimeSpan? duration, string? eventsPath, string? httpOption, TextWriter error)
    {
        var http = plan.Http.Resolve(httpOption, Environment.GetEnvironmentVariable(HttpSettings.TokenVariable));
        using var events = eventsPath is null ? null : EventWriter.Open(eventsPath, flushEachLine: true);
        var eventsToStdout = eventsPath == "-";
        var report = eventsToStdout ? error : Console.Out;
        var failure = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var signals = new StopSignals();
        using var reloader = new ConfigReloader(plan);

        await using var runtime = HostRuntime.Create(
            plan, context => context.StartClusterPeriodicTasks(plan.Set, plan.Settings, stopOnCoordinatedShutdown: true),
            events, eventsToStdout, failure, RaiseOnClusterTaskFailure(plan, failure), http: http, traces: true);
        CommandLauncher.Prepare(runtime.Log, hasCommands: plan.Commands.Count > 0);
        var started = await runtime.StartAsync(plan.Source.Source).ConfigureAwait(false);
        var manager = started.NodeTasks;
        var startedAt = Stopwatch.GetTimestamp();
        var log = runtime.Log;
        log.LogInformation("{Set}: {Count} task(s) from {Source}, tick every {Interval}; {Until}",
            plan.Set.Name, plan.Tasks.Count, plan.Source.Source, Durations.Format(plan.Settings.PeriodicInterval),
            duration is { } d ? $"running for {Durations.Format(d)}" : "Ctrl+C stops");
        if (plan.HasClusterTasks)
            log.LogInformation("{Set}: {Cluster} cluster-scoped task(s) run {Where} ({Roles}), {Node} node-scoped on this node ({Address})",
                plan.Set.Name, plan.Tasks.Count - plan.NodeTasks.Count,
                started.Sharded ? "spread over the nodes of the cluster (sharded)" : "on one node of the cluster",
                string.Join(", ", plan.ClusterTasksByRole.Keys.Select(r => r.Length == 0 ? "any role" : "role " + r)),
                plan.NodeTasks.Count, ((ExtendedActorSystem)runtime.System).Provider.DefaultAddress);

        if (runtime.Url is { } url)
        {
            // The generated token is shown here only; the event never carries a token.
            log.LogInformation("HTTP: listening on {Url} ({Access}{ReadOnly})", url,
                http.TokenSource is null ? $"page: {url}?token={http.Token}; token generated at start" : $"token from {http.TokenSource}",
                http.ReadOnly ? "; read-only" : "");
            runtime.Reporter.Tell(new RunReporter.Listening(DateTimeOffset.UtcNow, url));
        }

        using var stopping = new CancellationTokenSource();
        var reloads = reloader.ServeAsync(manager, runtime.Reporter, log, stopping.Token);
        _ = WarmUpClusterStatsAsync(started, stopping.Token);

        using var forElapsed = new CancellationTokenSource();
        var timer = duration is { } limit ? DelayAsync(limit, forElapsed.Token) : Task.Delay(Timeout.Infinite, forElapsed.Token);
        var first = await Task.WhenAny(signals.Stopped, timer, failure.Task, runtime.ShutdownStarted).ConfigureAwait(false);
        await forElapsed.CancelAsync().ConfigureAwait(false);
        await stopping.CancelAsync().ConfigureAwait(false);
        await reloads.ConfigureAwait(false); // a reload under way ends first (its change is bounded by the client's timeout)

        Exception? failed = first == failure.Task ? failure.Task.Result : null;
        CoordinatedShutdown.Reason? shutdownReason = first == runtime.ShutdownStarted ? runtime.ShutdownStarted.Result : null;
        var removed = shutdownReason is not null and not CoordinatedShutdown.ClusterLeavingReason;
        if (first == signals.Stopped)
            log.LogInformation("{Signal} received: stopping (runs in flight are cancelled, waiting up to {Timeout})",
                signals.Stopped.Result, Durations.Format(plan.Settings.ShutdownTimeout));
        else if (shutdownReason is not null)
            log.LogWarning("{Reason}: stopping", Describe(shutdownReason));
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
            await FlushAsync(manager, log).ConfigureAwait(false);
            stats = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or ActorNotFoundException)
        {
            log.LogWarning("the task manager did not answer the stop: {Error}", e.Message);
        }

        // Cluster-scoped statistics come from the singleton (wherever it runs), or from every bucket of a sharded set,
        // asked through this node's proxy or router before this node leaves; a downed node no longer reaches them.
        var clusterReports = new List<(string Role, string? Node, TaskStatsReport? Report)>();
        foreach (var (role, proxy) in started.ClusterTasks)
        {
            if (removed)
            {
                clusterReports.Add((role, null, null));
                continue;
            }

            try
            {
                var clusterStats = await proxy.Ask<TaskStatsReport>(GetTaskStats.Instance, ClusterStatsTimeout).ConfigureAwait(false);
                clusterReports.Add((role, started.Sharded ? null : runtime.SingletonNode(role), clusterStats));
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                clusterReports.Add((role, null, null));
            }
        }

        RunningProcesses.KillAll();
        await FlushEventsAsync(runtime, events).ConfigureAwait(false);
        await runtime.StopAsync().ConfigureAwait(false); // CoordinatedShutdown: leaves the cluster, hands the singleton over
        await runtime.DisposeAsync().ConfigureAwait(false); // flushes the console logger before the summary
        RunningProcesses.KillAll();

        var elapsed = Stopwatch.GetElapsedTime(startedAt);
        if (plan.NodeTasks.Count > 0 || clusterReports.Count == 0)
        {
            var title = $"Summary of {plan.Set.Name}{(clusterReports.Count > 0 ? " (node-scoped tasks, this node)" : "")}";
            report.WriteLine();
            if (stats is null)
                report.WriteLine($"{title}: not shown: the task manager did not answer the stop (the ActorSystem was already shutting down)");
            else
                report.Write(SummaryTable.Render(
                    $"{title}: {Math.Max(0, stats.CurrentTick)} ticks in {elapsed.TotalSeconds:0.0} s", SummaryTable.FromStats(stats)));
        }

        foreach (var (role, node, clusterStats) in clusterReports)
        {
            var what = $"Summary of {plan.Set.Name} (cluster-scoped tasks{(role.Length == 0 ? "" : $", role {role}")})";
            report.WriteLine();
            if (clusterStats is null)
            {
                var names = string.Join(", ", plan.ClusterTasksByRole[role].Select(t => t.Name));
                report.WriteLine(removed
                    ? $"{what}: not shown: this node no longer reaches the cluster ({names})"
                    : started.Sharded
                        ? $"{what}: not shown: its buckets did not all answer within {Durations.Format(ClusterStatsTimeout)} " +
                          $"(no node of the role is up yet, or buckets are moving) ({names})"
                        : $"{what}: not shown: the singleton did not answer within {Durations.Format(ClusterStatsTimeout)} " +
                          $"(no node of the role is up yet, or it is being handed over) ({names})");
                continue;
            }

            report.Write(SummaryTable.Render(
                started.Sharded
                    ? $"{what}: from their buckets across the cluster " + (plan.Settings.State.Store == StateStore.Sql
                        ? "(counts kept by the state store, across owners)"
                        : "(counts of each bucket's current owner since it took the bucket)")
                    : $"{what}: from the singleton on {node ?? "an unknown node"}, its tick {Math.Max(0, clusterStats.CurrentTick)} " +
                      (plan.Settings.State.Store == StateStore.Sql
                          ? "(counts kept by the state store, across owners)"
                          : "(counts of the current owner since it took over)"),
                SummaryTable.FromStats(clusterStats)));
        }

        report.Flush();

        if (failed is not null)
        {
            error.WriteLine(failed is PeriodicTaskFailedException f
                ? $"error: task '{f.TaskName}' failed and raise-on-error is on: {ConfigLoader.OneLine(f.Message)}"
                : $"error: the task manager failed: {ConfigLoader.OneLine(failed.Message)}");
            return ExitCodes.TaskFailed;
        }

        if (removed)
        {
            error.WriteLine($"error: {Describe(shutdownReason!)}");
            return ExitCodes.RemovedFromCluster;
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// Asks the cluster tasks' statistics once, a few seconds after the start, and forgets the answer. The first such
    /// question of a process takes about a second (measured: 1.05 s, then 65 ms for the next: what it uses is set up on
    /// first use), and the summary at exit asks it while this node's buckets wait to be handed over: a node leaving
    /// gracefully would hand them over that much later (docs/cluster.md, "Graceful hand-over").
    /// </summary>
    private static async Task WarmUpClusterStatsAsync(ClusterTaskSet started, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(WarmUpAfter, stopping).ConfigureAwait(false);
            foreach (var proxy in started.ClusterTasks.Values)
                await proxy.Ask<TaskStatsReport>(GetTaskStats.Instance, ClusterStatsTimeout, stopping).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Not up yet, buckets moving, or stopping: the answer is not used, and the summary asks again at exit.
        }
    }

    /// <summary>Flushes the events written so far; a downed node's ActorSystem may already be gone (then the file is flushed directly).</summary>
    private static async Task FlushEventsAsync(HostRuntime runtime, EventWriter? events)
    {
        try
        {
            if (!runtime.System.WhenTerminated.IsCompleted)
            {
                await runtime.Reporter.Ask<RunReporter.Flushed>(RunReporter.Flush.Instance, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                return;
            }
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
        }

        events?.Flush();
    }

    /// <summary>
    /// raise-on-error for cluster-scoped tasks: their manager runs inside the cluster singleton, whose manager restarts
    /// it rather than escalating to the host, so the host watches their failed and timed-out events instead: the owner
    /// node ends <c>run</c> with exit code 1 naming the task, as for a node-scoped task (the singleton then moves on).
    /// </summary>
    private static Action<PeriodicTaskEvent>? RaiseOnClusterTaskFailure(HostPlan plan, TaskCompletionSource<Exception> failure)
    {
        if (!plan.Settings.RaiseOnError || !plan.HasClusterTasks)
            return null;
        var clusterTasks = plan.ClusterTasksByRole.Values.SelectMany(t => t).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return e =>
        {
            if (!clusterTasks.Contains(e.Task))
                return;
            if (e is PeriodicTaskFailed f)
                failure.TrySetResult(new PeriodicTaskFailedException(e.SetName, e.Task, e.Tick, f.Error));
            else if (e is PeriodicTaskTimedOut t)
                failure.TrySetResult(new PeriodicTaskTimeoutException(e.SetName, e.Task, e.Tick, t.Timeout));
        };
    }

    /// <summary>Why CoordinatedShutdown started, in the operator's words.</summary>
    private static string Describe(CoordinatedShutdown.Reason reason) => reason switch
    {
        CoordinatedShutdown.ClusterDowningReason =>
            "this node was downed by the cluster (the split brain resolver, or an operator, removed it)",
        CoordinatedShutdown.ClusterJoinUnsuccessfulReason =>
            "this node could not join the cluster (no seed node answered within akka.cluster.shutdown-after-unsuccessful-join-seed-nodes)",
        CoordinatedShutdown.ClusterLeavingReason => "this node was asked to leave the cluster",
        _ => $"the ActorSystem is shutting down ({reason.GetType().Name})",
    };

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

    /// <summary>Waits for the state store's last writes (at once without a store), so that the next start finds them.</summary>
    private static async Task FlushAsync(IActorRef manager, ILogger log)
    {
        try
        {
            await manager.Ask<StateFlushed>(FlushState.Instance, PeriodicTasks.FlushTimeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            log.LogWarning("the state store did not confirm its last writes within {Timeout}: the latest ticks, runs and changes " +
                "may be missing at the next start ({Error})", Durations.Format(PeriodicTasks.FlushTimeout), e.Message);
        }
    }
}

/// <summary>
/// SIGINT and SIGTERM as a task, instead of the default termination. A second signal during the graceful stop ends the
/// process at once with exit code 0 (the operator asked for the stop): command process trees are killed, runs still in
/// flight are abandoned and no summary is printed.
/// </summary>
internal sealed class StopSignals : IDisposable
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
        Console.Error.WriteLine($"{name} again: exiting now, without waiting for the runs in flight");
        Console.Error.Flush();
        Environment.Exit(ExitCodes.Success);
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
    }
}
