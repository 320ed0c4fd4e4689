using System.Net;
using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Dashboard;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Persistence;
using ActorScheduler.Host.Logging;
using ActorScheduler.Host.Tasks;
using ActorScheduler.Runtime;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using AkkaLogLevel = Akka.Event.LogLevel;

namespace ActorScheduler.Host.Running;

/// <summary>
/// One ASP.NET Core web host built the way an embedding service builds it (Microsoft.Extensions.Logging, Akka.Hosting,
/// the configuration file over the reference configs, Kestrel serving the operator console when HTTP is on): one
/// lifetime and one shutdown for all of them. The caller handles signals, and a CoordinatedShutdown started by
/// anything else is reported through <see cref="ShutdownStarted"/> (docs/architecture.md, "The console host").
/// </summary>
internal sealed class HostRuntime : IAsyncDisposable
{
    public const string SystemName = "actor-scheduler";

    /// <summary>How long each call of the console's client waits for the set (the control commands wait a little longer).</summary>
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(4);

    private readonly WebApplication _host;
    private readonly Config _config;
    private readonly HttpSettings.Resolved? _http;
    private readonly BootstrapSettings _bootstrap;
    private readonly TaskCompletionSource<Exception> _failure;
    private readonly TaskCompletionSource<CoordinatedShutdown.Reason> _shutdownStarted;
    private readonly TaskCompletionSource<ClusterTaskSet> _taskSet;

    private HostRuntime(
        WebApplication host, Config config, HttpSettings.Resolved? http, BootstrapSettings bootstrap, ILogger log,
        TaskCompletionSource<Exception> failure, TaskCompletionSource<CoordinatedShutdown.Reason> shutdownStarted,
        TaskCompletionSource<ClusterTaskSet> taskSet)
    {
        _host = host;
        _config = config;
        _http = http;
        _bootstrap = bootstrap;
        _failure = failure;
        _shutdownStarted = shutdownStarted;
        _taskSet = taskSet;
        Log = log;
    }

    /// <summary>The console's address once started (http://127.0.0.1:PORT/), or null when nothing is served.</summary>
    public string? Url { get; private set; }

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
    /// <param name="http">What to serve (run only): null or an endpoint of null serves nothing.</param>
    /// <param name="traces">Export the task spans with OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (run only).</param>
    public static HostRuntime Create(
        HostPlan plan, Func<IUntypedActorContext, ClusterTaskSet> start, EventWriter? events, bool eventsToStdout,
        TaskCompletionSource<Exception> failure, Action<Messages.PeriodicTaskEvent>? onEvent = null, bool localOnly = false,
        HttpSettings.Resolved? http = null, bool traces = false)
    {
        var shutdownStarted = new TaskCompletionSource<CoordinatedShutdown.Reason>(TaskCreationOptions.RunContinuationsAsynchronously);
        var taskSet = new TaskCompletionSource<ClusterTaskSet>(TaskCreationOptions.RunContinuationsAsynchronously);
        var akkaLevel = plan.LogLevel;
        var bootstrap = localOnly ? BootstrapSettings.Off : plan.Bootstrap;
        // The empty builder reads no appsettings and no ASPNETCORE_* variables: the HOCON file is the only configuration.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = SystemName,
            ContentRootPath = plan.Source.BaseDirectory,
        });
        ConfigureLogging(builder.Logging, LevelOf(akkaLevel), eventsToStdout);
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        if (http?.Endpoint is { } endpoint)
        {
            builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(endpoint.ToIPEndPoint());
                kestrel.AddServerHeader = false;
            });
            builder.Services.AddRouting();
            builder.Services.AddPeriodicTaskDashboard(options =>
            {
                options.Token = http.Token;
                options.ReadOnly = http.ReadOnly;
            });
        }
        else
        {
            builder.Services.AddSingleton<IServer, NoServer>();
        }

        if (http?.Endpoint is not null || traces)
        {
            // The metrics (/metrics) and the spans name the service actor-scheduler, unless OTEL_SERVICE_NAME does.
            var named = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME"));
            builder.Services.AddOpenTelemetry().ConfigureResource(resource =>
            {
                if (!named)
                    resource.AddService(SystemName);
            });
        }

        if (traces)
            AddOtlpTraces(builder);

        var firstSeed = localOnly || bootstrap.Enabled ? null : FirstSeedGuard.Check(plan.Source.Config, SystemName);
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
            HostClusterConfig.Add(akka, plan, firstSeed, localOnly, log);
            akka.AddHocon(ClusterConfiguration.DefaultConfig(), HoconAddMode.Append); // the cluster timings the package ships
            akka.AddHocon(StateSerialization.Config, HoconAddMode.Append);
            if (bootstrap.Enabled)
            {
                // Joining through Cluster Bootstrap: Akka.Management's own start, once the host's actors exist.
                akka.AddHocon(BootstrapSettings.Fallback, HoconAddMode.Append);
                akka.AddStartup((system, _) => ManagementServer.StartAsync(system, bootstrap));
            }

            akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = akkaLevel;
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            akka.WithActors((system, registry) =>
            {
                RunLifetime.For(system).EndsWithProcessWhile(() => CommandLauncher.Shared.EndsWithHost);
                RunTimeCommands.Register(system, plan.Source.BaseDirectory);
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
        if (http?.Endpoint is not null)
        {
            // The set's actors exist only once the ActorSystem has started: the client waits for them (within its timeout).
            var client = new PeriodicTaskClient(async ct => await (await taskSet.Task.WaitAsync(ct).ConfigureAwait(false)).AgreedManagersAsync(ct).ConfigureAwait(false), ClientTimeout);
            TaskChangeEndpoints.Map(host.MapPeriodicTaskDashboard("", _ => client), client, plan.Source.BaseDirectory);
        }

        return new HostRuntime(host, plan.Source.Config, http, bootstrap, host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(SystemName),
            failure, shutdownStarted, taskSet);
    }

    /// <summary>
    /// OTLP export of the task spans (ActivitySource ActorScheduler) when OTEL_EXPORTER_OTLP_ENDPOINT is set. The empty
    /// builder's configuration has no environment variables, so the exporter's OTEL_* ones are added to it.
    /// </summary>
    private static void AddOtlpTraces(WebApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
            return;
        var otel = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Where(e => e.Key is string key && key.StartsWith("OTEL_", StringComparison.Ordinal))
            .Select(e => new KeyValuePair<string, string?>((string)e.Key, e.Value as string));
        builder.Configuration.AddInMemoryCollection(otel);
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddSource(PeriodicTaskTracing.SourceName).AddOtlpExporter());
    }

    /// <summary>Starts the ActorSystem and the task set; an invalid akka.* setting is a configuration error.</summary>
    public async Task<ClusterTaskSet> StartAsync(string source)
    {
        // Akka.Hosting also writes a failed start, stack trace included, with Console.WriteLine: hold what is written to
        // Console.Out while starting, replay it when the start succeeds, and drop it when the host reports the failure
        // on one line instead. (The console logger keeps its own writer and is not affected.)
        // Kestrel starts after the ActorSystem: a fixed port already taken is found first, before any task runs.
        if (_http?.Endpoint is { Port: > 0 } fixedEndpoint)
            StartFailures.CheckCanListen(fixedEndpoint.ToIPEndPoint(), _http.EndpointSource, anyPortAllowed: true);
        if (_bootstrap is { Enabled: true, BindPort: > 0 } && _bootstrap.BindEndPoint() is { } management)
            StartFailures.CheckCanListen(management, _bootstrap.PortKey, anyPortAllowed: false);

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
            // Akka.Management could not listen, or Cluster Bootstrap could not start: named with its key.
            if (StartFailures.Flatten(e).OfType<HostConfigurationException>().FirstOrDefault() is { } named)
                throw named;
            // Kestrel starts after the ActorSystem: an endpoint it cannot listen on is named with its key (or --http).
            if (_http?.Endpoint is { } endpoint && StartFailures.HttpFailure(e) is { } reason)
                throw new HostConfigurationException($"{_http.EndpointSource}: cannot listen on {endpoint}: {reason}");
            // An akka.* setting the ActorSystem rejects, a port already in use, ...: name the file and the reason.
            throw new HostConfigurationException($"{source}: the ActorSystem could not start: {StartFailures.StartFailure(e, _config)}");
        }

        ClusterTaskSet started;
        try
        {
            started = await Supervisor.Ask<ClusterTaskSet>(HostSupervisor.GetTaskSet.Instance, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception) when (_failure.Task.IsCompleted && _failure.Task.Result is PeriodicTaskConfigurationException config)
        {
            throw config; // found when the set started (the plan checks most mistakes earlier)
        }

        _taskSet.TrySetResult(started);
        if (_http?.Endpoint is not null)
        {
            var address = _host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
            Url = address is null ? null : address.TrimEnd('/') + "/";
        }

        return started;
    }

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

    public ValueTask DisposeAsync() => _host.DisposeAsync();

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
        // A failed start is reported on one line by the command ("Hosting failed to start" would repeat it).
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        logging.AddConsole(options =>
        {
            options.FormatterName = ConciseConsoleFormatter.FormatterName;
            options.LogToStandardErrorThreshold = toStandardError ? LogLevel.Trace : LogLevel.None;
        });
        logging.AddConsoleFormatter<ConciseConsoleFormatter, ConciseFormatterOptions>(options =>
            options.StackTraces = level <= LogLevel.Debug);
    }

    /// <summary>The server when HTTP is off: nothing listens.</summary>
    private sealed class NoServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }

    /// <summary>A lifetime that leaves Ctrl+C and SIGTERM to the command, which stops the task set gracefully first.</summary>
    private sealed class CallerOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
