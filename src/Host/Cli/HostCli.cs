using System.CommandLine;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Host.Running;
using ActorScheduler.Host.Simulation;
using ActorScheduler.Tasks;

namespace ActorScheduler.Host.Cli;

/// <summary>
/// The <c>actor-scheduler</c> command line (docs/host.md), parsed with System.CommandLine. Every usage or
/// configuration error is one line on standard error and exit code 2; --help works on every command.
/// </summary>
internal static partial class HostCli
{
    private const string Name = "actor-scheduler";

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var root = Build(output, error);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var command = parse.CommandResult.Command;
            var where = command == root ? Name : $"{Name} {command.Name}";
            error.WriteLine($"error: {ConfigLoader.OneLine(parse.Errors[0].Message)} (see '{where} --help')");
            return ExitCodes.UsageError;
        }

        // ProcessTerminationTimeout = null: System.CommandLine would otherwise end the process with 130 or 143 two seconds
        // after SIGINT/SIGTERM, cutting short a graceful stop that waits up to shutdown-timeout; run handles the signals.
        var invocation = new InvocationConfiguration
        {
            Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
        };
        try
        {
            return await parse.InvokeAsync(invocation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HostConfigurationException or PeriodicTaskConfigurationException or PeriodicTaskDefinitionException)
        {
            error.WriteLine($"error: {ConfigLoader.OneLine(e.Message)}");
            return ExitCodes.UsageError;
        }
        catch (Exception e)
        {
            // Not a user mistake: still one line, with the type to report it by (ACTOR_SCHEDULER_DEBUG=1 shows the trace).
            error.WriteLine($"error: unexpected {e.GetType().Name}: {ConfigLoader.OneLine(e.Message)}");
            if (Environment.GetEnvironmentVariable("ACTOR_SCHEDULER_DEBUG") is "1")
                error.WriteLine(e);
            return ExitCodes.TaskFailed;
        }
    }

    public static RootCommand Build(TextWriter output, TextWriter error)
    {
        var run = new Command("run", "Run the task set until --for elapses or SIGINT/SIGTERM, then stop gracefully and print a summary (a second signal exits at once); SIGHUP reloads the --config file's tasks.");
        var runConfig = ConfigOption();
        var runFor = new Option<string>("--for") { Description = "Stop after this long (HOCON duration: 500ms, 3s, 2m, 1d).", HelpName = "DURATION" };
        var runEvents = EventsOption();
        var runHttp = new Option<string>("--http")
        {
            Description = "Serve the console (API, page, metrics) on HOST:PORT instead of actor-scheduler-host.http.endpoint; off serves nothing.",
            HelpName = "ENDPOINT|off",
        };
        run.Options.Add(runConfig);
        run.Options.Add(runFor);
        run.Options.Add(runEvents);
        run.Options.Add(runHttp);
        run.SetAction(async (result, _) =>
        {
            var duration = DurationOption(result.GetValue(runFor), "--for");
            var plan = Plan(result.GetValue(runConfig));
            return await RunCommand.ExecuteAsync(plan, duration, result.GetValue(runEvents), result.GetValue(runHttp), error).ConfigureAwait(false);
        });

        var simulate = new Command("simulate",
            "Plan the schedule in virtual time without running any task: one 'run' event per planned run, then a summary.");
        var simConfig = ConfigOption();
        var simTicks = new Option<long?>("--ticks") { Description = "Simulate ticks 0 to N.", HelpName = "N" };
        var simFor = new Option<string>("--for") { Description = "Simulate this much virtual time (HOCON duration: 1h, 1d).", HelpName = "DURATION" };
        var simEvents = EventsOption();
        var simStart = StartOption("The wall-clock time of tick 0, ISO-8601 with an offset (default: now).");
        simulate.Options.Add(simConfig);
        simulate.Options.Add(simTicks);
        simulate.Options.Add(simFor);
        simulate.Options.Add(simEvents);
        simulate.Options.Add(simStart);
        simulate.SetAction(result =>
        {
            var ticks = result.GetValue(simTicks);
            var forText = result.GetValue(simFor);
            if (ticks is null == forText is null)
                throw new HostConfigurationException("simulate: give exactly one of --ticks N and --for DURATION.");
            if (ticks < 0)
                throw new HostConfigurationException($"--ticks: {ticks} is not allowed; use a whole number >= 0.");
            var duration = DurationOption(forText, "--for");
            var start = StartTime(result.GetValue(simStart));
            var plan = Plan(result.GetValue(simConfig));
            return Simulate(plan, ticks ?? Simulator.LastTickWithin(plan, duration!.Value), start, result.GetValue(simEvents), output, error);
        });

        var validate = new Command("validate", "Check the configuration (and plugin assemblies) without running anything.");
        var valConfig = ConfigOption();
        validate.Options.Add(valConfig);
        validate.SetAction(result =>
        {
            var plan = Plan(result.GetValue(valConfig));
            plan.Http.Resolve(null, Environment.GetEnvironmentVariable(HttpSettings.TokenVariable)); // what run would refuse
            var disabled = plan.Tasks.Count(t => t.Options.IsDisabled);
            output.WriteLine(
                $"{plan.Source.Source}: valid: task set {plan.Set.Name}, {plan.Tasks.Count} task{(plan.Tasks.Count == 1 ? "" : "s")} ({plan.Commands.Count} command{(plan.Commands.Count == 1 ? "" : "s")}, " +
                $"{disabled} disabled{(plan.HasClusterTasks ? $", {plan.Tasks.Count - plan.NodeTasks.Count} cluster-scoped" : "")}), " +
                $"tick every {Durations.Format(plan.Settings.PeriodicInterval)}");
            return ExitCodes.Success;
        });

        var list = new Command("list", "List the tasks with their schedule in words, their first due ticks and the next occurrences of calendar tasks.");
        var listConfig = ConfigOption();
        var listStart = StartOption("Count due ticks and occurrences from this time, ISO-8601 with an offset (default: now).");
        list.Options.Add(listConfig);
        list.Options.Add(listStart);
        list.SetAction(result =>
        {
            var start = StartTime(result.GetValue(listStart));
            output.Write(ListCommand.Render(Plan(result.GetValue(listConfig)), start));
            return ExitCodes.Success;
        });

        var runOnce = new Command("run-once", "Run one task once, now; exit 0 when it succeeds, 1 when it fails.");
        var taskArgument = new Argument<string>("TASK") { Description = "The task's name (see list)." };
        var onceConfig = ConfigOption();
        runOnce.Arguments.Add(taskArgument);
        runOnce.Options.Add(onceConfig);
        runOnce.SetAction(async (result, _) =>
        {
            var plan = Plan(result.GetValue(onceConfig));
            return await RunOnceCommand.ExecuteAsync(plan, result.GetValue(taskArgument)!, error).ConfigureAwait(false);
        });

        var root = new RootCommand(
            "actor-scheduler: periodic tasks with OpenStack nova's semantics on Akka.NET. Without --config, the built-in demo runs.");
        root.Subcommands.Add(run);
        root.Subcommands.Add(simulate);
        root.Subcommands.Add(validate);
        root.Subcommands.Add(list);
        root.Subcommands.Add(runOnce);
        foreach (var control in ControlCommands.Build(output, error))
            root.Subcommands.Add(control);
        root.SetAction(_ =>
        {
            error.WriteLine($"error: a command is required: run, simulate, validate, list, run-once, status, pause, resume or trigger (see '{Name} --help')");
            return ExitCodes.UsageError;
        });
        return root;
    }

    private static Option<string> ConfigOption() =>
        new("--config") { Description = "The HOCON configuration file (default: the built-in demo, hocon/host.conf).", HelpName = "FILE" };

    private static Option<string> EventsOption() =>
        new("--events") { Description = "Write events as JSON Lines to FILE (- for standard output; logs then go to standard error).", HelpName = "FILE" };

    private static Option<string> StartOption(string description) =>
        new("--start") { Description = description, HelpName = "TIME" };

    /// <summary>
    /// --start: an ISO-8601 time with its offset (2026-03-08T00:00:00-05:00, 2026-10-25T00:00Z), truncated to the
    /// millisecond; without one, now. A time without an offset would depend on the machine's zone: refused.
    /// </summary>
    internal static DateTimeOffset StartTime(string? text)
    {
        const string allowed = "use ISO-8601 with an offset, such as 2026-03-08T00:00:00-05:00 or 2026-10-25T00:00Z";
        DateTimeOffset time;
        if (text is null)
        {
            time = DateTimeOffset.UtcNow;
        }
        else
        {
            var trimmed = text.Trim();
            if (!IsoTime().IsMatch(trimmed))
                throw new HostConfigurationException($"--start: \"{text}\" is not an ISO-8601 time; {allowed}.");
            if (!IsoOffset().IsMatch(trimmed))
                throw new HostConfigurationException($"--start: \"{text}\" has no offset (Z or +hh:mm); {allowed}.");
            if (!DateTimeOffset.TryParse(trimmed, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out time))
                throw new HostConfigurationException($"--start: \"{text}\" is not a valid time; {allowed}.");
        }

        return new DateTimeOffset(time.Ticks - time.Ticks % TimeSpan.TicksPerMillisecond, time.Offset);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,7})?)?(Z|[+-]\d\d:?\d\d)?$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex IsoTime();

    [System.Text.RegularExpressions.GeneratedRegex(@"(Z|[+-]\d\d:?\d\d)$", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex IsoOffset();

    private static HostPlan Plan(string? config) => HostPlan.Build(ConfigLoader.Load(config));

    private static TimeSpan? DurationOption(string? text, string option)
    {
        if (text is null)
            return null;
        if (!Durations.TryParse(text, out var value))
            throw new HostConfigurationException($"{option}: \"{text}\" is not a duration; use HOCON syntax such as 500ms, 3s, 2m, 1d.");
        if (value < TimeSpan.Zero)
            throw new HostConfigurationException($"{option}: \"{text}\" is negative; use a duration >= 0.");
        return value;
    }

    private static int Simulate(HostPlan plan, long lastTick, DateTimeOffset start, string? eventsPath, TextWriter output, TextWriter error)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Simulator.Result result;
        using (var events = eventsPath is null ? null : EventWriter.Open(eventsPath, flushEachLine: false))
            result = Simulator.Run(plan, lastTick, start, events);
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        var report = eventsPath == "-" ? error : output;
        report.Write(SummaryTable.Render(
            $"Simulated {plan.Set.Name}: ticks 0 to {result.LastTick} ({Durations.Format(result.VirtualTime)} of virtual time from " +
            $"{EventWriter.Iso(start)}), {result.TotalRuns} runs planned, in {elapsed.TotalSeconds:0.00} s",
            result.Rows));
        report.Flush();
        return ExitCodes.Success;
    }
}
