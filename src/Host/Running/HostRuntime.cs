using ActorScheduler.Configuration;
using ActorScheduler.Host.Configuration;
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
/// The Generic Host the way an embedding service builds it: Microsoft.Extensions.Logging, Akka.Hosting's AddAkka
/// with the whole configuration file prepended over the library's reference.conf, Akka's logs routed to the
/// LoggerFactory, and the host's actors (reporter, supervisor with the task manager below it) started by WithActors.
/// Signals are the caller's: the host lifetime does not react to Ctrl+C.
/// </summary>
public sealed class HostRuntime : IAsyncDisposable
{
    public const string SystemName = "actor-scheduler";

    private readonly IHost _host;

    private HostRuntime(IHost host, ILogger log)
    {
        _host = host;
        Log = log;
    }

    public ILogger Log { get; }

    public IActorRef Reporter => _host.Services.GetRequiredService<IRequiredActor<RunReporter>>().ActorRef;

    public IActorRef Supervisor => _host.Services.GetRequiredService<IRequiredActor<HostSupervisor>>().ActorRef;

    /// <summary>Builds the host; nothing runs until <see cref="StartAsync"/>.</summary>
    /// <param name="eventsToStdout">Standard output carries events: logs go to standard error, Akka prints nothing.</param>
    public static HostRuntime Create(
        HostPlan plan, Props managerProps, EventWriter? events, bool eventsToStdout, TaskCompletionSource<Exception> failure,
        Action<Messages.PeriodicTaskEvent>? onEvent = null)
    {
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
            if (eventsToStdout)
                akka.AddHocon(ConfigurationFactory.ParseString("akka.stdout-loglevel = OFF"), HoconAddMode.Prepend);
            akka.AddHocon(PeriodicTaskSettings.DefaultConfig(), HoconAddMode.Append);
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
                registry.Register<RunReporter>(reporter);
                var supervisor = system.ActorOf(
                    HostSupervisor.Props(managerProps, Actors.PeriodicTaskManager.ActorName(plan.Set.Name), failure), "host");
                registry.Register<HostSupervisor>(supervisor);
            });
        });

        var host = builder.Build();
        return new HostRuntime(host, host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(SystemName));
    }

    /// <summary>Starts the ActorSystem and the task set; an invalid akka.* setting is a configuration error.</summary>
    public async Task<IActorRef> StartAsync(string source)
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
            var reason = e.InnerException is { } inner && e is TypeInitializationException or global::System.Reflection.TargetInvocationException
                ? inner.Message
                : e.Message;
            throw new HostConfigurationException($"{source}: the ActorSystem could not start: {ConfigLoader.OneLine(reason)}");
        }

        return await Supervisor.Ask<IActorRef>(HostSupervisor.GetManager.Instance, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
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
