using System.Net.Sockets;
using System.Reflection;
using System.Text.RegularExpressions;
using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Persistence;
using ActorScheduler.Host.Logging;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using AkkaLogLevel = Akka.Event.LogLevel;

namespace ActorScheduler.Host.Running;

/// <summary>
/// The Generic Host built the way an embedding service builds it (Microsoft.Extensions.Logging, Akka.Hosting, the
/// configuration file over the reference configs); the caller handles signals, and a CoordinatedShutdown started by
/// anything else is reported through <see cref="ShutdownStarted"/> (docs/architecture.md, "The console host").
/// </summary>
internal sealed partial class HostRuntime : IAsyncDisposable
{
    public const string SystemName = "actor-scheduler";

    /// <summary>Where the host's configuration sets remoting's address (hostname, port).</summary>
    private const string RemotePath = "akka.remote.dot-netty.tcp";

    private readonly IHost _host;
    private readonly Config _config;
    private readonly TaskCompletionSource<Exception> _failure;
    private readonly TaskCompletionSource<CoordinatedShutdown.Reason> _shutdownStarted;

    private HostRuntime(
        IHost host, Config config, ILogger log, TaskCompletionSource<Exception> failure, TaskCompletionSource<CoordinatedShutdown.Reason> shutdownStarted)
    {
        _host = host;
        _config = config;
        _failure = failure;
        _shutdownStarted = shutdownStarted;
        Log = log;
    }

    /// <summary>Completes with the reason when CoordinatedShutdown starts (whoever started it).</summary>
    public Task<CoordinatedShutdown.Reason> ShutdownStarted => _shutdownStarted.Task;

    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    public ILogger Log { get; }

    public IActorRef Reporter => _host.Services.GetRequiredService<IRequiredActor<RunReporter>>().ActorRef;

    public IActorRef Supervisor => _host.Services.GetRequiredService<IRequiredActor<HostSupervisor>>().ActorRef;

    /// <summary>Builds the host; nothing runs until <see cref="StartAsync"/>.</summary>
    /// <param name="plan">The validated plan.</param>
    /// <param name="start">Starts the task set below the host's supervisor.</param>
    /// <param name="events">Where events are written, or null.</param>
    /// <param name="eventsToStdout">Standard output carries events: logs go to standard error, Akka prints nothing.</param>
    /// <param name="failure">Completed with the first failure that ends the run (raise-on-error).</param>
    /// <param name="onEvent">Called for each event after the reporter wrote it.</param>
    /// <param name="localOnly">Start a local ActorSystem whatever akka.actor.provider says (run-once joins no cluster).</param>
    public static HostRuntime Create(
        HostPlan plan, Func<IUntypedActorContext, ClusterTaskSet> start, EventWriter? events, bool eventsToStdout,
        TaskCompletionSource<Exception> failure, Action<Messages.PeriodicTaskEvent>? onEvent = null, bool localOnly = false)
    {
        var shutdownStarted = new TaskCompletionSource<CoordinatedShutdown.Reason>(TaskCreationOptions.RunContinuationsAsynchronously);
        var akkaLevel = plan.LogLevel;
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = SystemName,
            ContentRootPath = plan.Source.BaseDirectory,
        });
        ConfigureLogging(builder.Logging, LevelOf(akkaLevel), eventsToStdout);
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();

        builder.Services.AddAkka(SystemName, (akka, services) =>
        {
            var log = services.GetRequiredService<ILoggerFactory>().CreateLogger(SystemName);
            akka.AddHocon(plan.Source.Config, HoconAddMode.Prepend);
            // The host stops the task set itself on SIGINT/SIGTERM (cancel, wait, summary) before the ActorSystem goes.
            akka.AddHocon(ConfigurationFactory.ParseString("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off"), HoconAddMode.Prepend);
            // The host exits by itself, with its exit code, after CoordinatedShutdown (it never calls Environment.Exit).
            akka.AddHocon(ConfigurationFactory.ParseString("akka.coordinated-shutdown.exit-clr = off"), HoconAddMode.Prepend);
            if (localOnly)
                akka.AddHocon(ConfigurationFactory.ParseString("akka.actor.provider = local"), HoconAddMode.Prepend);
            if (eventsToStdout)
                akka.AddHocon(ConfigurationFactory.ParseString("akka.stdout-loglevel = OFF"), HoconAddMode.Prepend);
            akka.AddHocon(PeriodicTaskSettings.DefaultConfig(), HoconAddMode.Append);
            akka.AddHocon(StateSerialization.Config, HoconAddMode.Append);
            akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = akkaLevel;
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            akka.WithActors((system, registry) =>
            {
                var reporter = system.ActorOf(RunReporter.Props(events, log, onEvent), "reporter");
                // Subscribed before the manager exists, so no event of tick 0 is lost.
                system.EventStream.Subscribe(reporter, typeof(Messages.PeriodicTaskEvent));
                system.EventStream.Subscribe(reporter, typeof(Messages.PeriodicTaskControlEvent));
                registry.Register<RunReporter>(reporter);
                var shutdown = CoordinatedShutdown.Get(system);
                shutdown.AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "actor-scheduler-host-stopping", () =>
                {
                    shutdownStarted.TrySetResult(shutdown.ShutdownReason ?? CoordinatedShutdown.UnknownReason.Instance);
                    return Task.FromResult(Akka.Done.Instance);
                });
                var supervisor = system.ActorOf(HostSupervisor.Props(start, failure), "host");
                registry.Register<HostSupervisor>(supervisor);
            });
        });

        var host = builder.Build();
        return new HostRuntime(host, plan.Source.Config, host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(SystemName), failure, shutdownStarted);
    }

    /// <summary>Starts the ActorSystem and the task set; an invalid akka.* setting is a configuration error.</summary>
    public async Task<ClusterTaskSet> StartAsync(string source)
    {
        // Akka.Hosting also writes a failed start, stack trace included, with Console.WriteLine: hold what is written to
        // Console.Out while starting, replay it when the start succeeds, and drop it when the host reports the failure
        // on one line instead. (The console logger keeps its own writer and is not affected.)
        var console = Console.Out;
        var held = new StringWriter();
        Console.SetOut(held);
        try
        {
            await _host.StartAsync().ConfigureAwait(false);
            Console.SetOut(console);
            console.Write(held.ToString());
        }
        catch (Exception e)
        {
            Console.SetOut(console);
            // An akka.* setting the ActorSystem rejects, a port already in use, ...: name the file and the reason.
            throw new HostConfigurationException($"{source}: the ActorSystem could not start: {StartFailure(e, _config)}");
        }

        try
        {
            return await Supervisor.Ask<ClusterTaskSet>(HostSupervisor.GetTaskSet.Instance, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception) when (_failure.Task.IsCompleted && _failure.Task.Result is PeriodicTaskConfigurationException config)
        {
            throw config; // found when the set started (the plan checks most mistakes earlier)
        }
    }

    /// <summary>
    /// Why the start failed, in one line: a remoting port already in use is named with its key; otherwise the innermost
    /// message that says something (Akka.Hosting wraps the cause in layers of "One or more errors occurred").
    /// </summary>
    internal static string StartFailure(Exception error, Config config)
    {
        var all = Flatten(error).ToList();
        if (all.OfType<SocketException>().FirstOrDefault(s => s.SocketErrorCode == SocketError.AddressAlreadyInUse) is { } taken)
        {
            var endpoint = all.Select(x => BindFailure().Match(x.Message)).FirstOrDefault(m => m.Success)?.Groups[1].Value
                ?? $"{config.GetString(RemotePath + ".hostname", "")}:{config.GetInt(RemotePath + ".port", 0)}";
            return $"{RemotePath}.port: cannot listen on {endpoint}: {ConfigLoader.OneLine(taken.Message).TrimEnd('.')} " +
                   "(another process has the port: stop it or choose another port)";
        }

        var telling = all.LastOrDefault(x => x is not AggregateException and not TypeInitializationException and not TargetInvocationException
                                            && !x.Message.Contains("See InnerException", StringComparison.Ordinal))
                      ?? error;
        return ConfigLoader.OneLine(telling.Message);
    }

    private static IEnumerable<Exception> Flatten(Exception error)
    {
        yield return error;
        var inner = error is AggregateException aggregate ? aggregate.InnerExceptions : error.InnerException is { } one ? [one] : [];
        foreach (var child in inner)
            foreach (var x in Flatten(child))
                yield return x;
    }

    [GeneratedRegex(@"Failed to bind to \[([^\]]+)\]")]
    private static partial Regex BindFailure();

    /// <summary>The oldest Up member with <paramref name="role"/> ("" = any): where the singleton of that role runs.</summary>
    public string? SingletonNode(string role)
    {
        if (!ClusterPeriodicTasks.IsClustered(System))
            return null;
        var state = Akka.Cluster.Cluster.Get(System).State;
        return state.Members
            .Where(m => m.Status == Akka.Cluster.MemberStatus.Up && (role.Length == 0 || m.HasRole(role)))
            .OrderBy(m => m, Akka.Cluster.Member.AgeOrdering)
            .FirstOrDefault()?.Address.ToString();
    }

    public async Task StopAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await _host.StopAsync(timeout.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is IAsyncDisposable d)
            await d.DisposeAsync().ConfigureAwait(false);
        else
            _host.Dispose();
    }

    private static LogLevel LevelOf(AkkaLogLevel level) => level switch
    {
        AkkaLogLevel.DebugLevel => LogLevel.Debug,
        AkkaLogLevel.InfoLevel => LogLevel.Information,
        AkkaLogLevel.WarningLevel => LogLevel.Warning,
        _ => LogLevel.Error,
    };

    private static void ConfigureLogging(ILoggingBuilder logging, LogLevel level, bool toStandardError)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(level);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddConsole(options =>
        {
            options.FormatterName = ConciseConsoleFormatter.FormatterName;
            options.LogToStandardErrorThreshold = toStandardError ? LogLevel.Trace : LogLevel.None;
        });
        logging.AddConsoleFormatter<ConciseConsoleFormatter, ConciseFormatterOptions>(options =>
            options.StackTraces = level <= LogLevel.Debug);
    }

    /// <summary>A lifetime that leaves Ctrl+C and SIGTERM to the command, which stops the task set gracefully first.</summary>
    private sealed class CallerOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
