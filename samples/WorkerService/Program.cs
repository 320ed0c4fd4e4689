using ActorScheduler.Hosting;
using Akka.Hosting;
using WorkerService;

var builder = Host.CreateApplicationBuilder(args);

builder.Services.AddSingleton<Maintenance>(); // the manager class, resolved from DI (it takes ILogger<Maintenance>)

builder.Services.AddAkka("worker-service", akka => akka
    .ConfigureLoggers(loggers => loggers.AddLoggerFactory()) // the library's log lines ("schedule recovered", errors) in the host's log
    // The state store of ActorScheduler.Cluster: each task's place in its schedule is kept in this SQLite file
    // (created on first start), so a restarted worker continues where it was. No cluster is needed: on a local
    // ActorSystem the task set runs on this process alone, under the state id "local".
    .WithPeriodicTaskState("SQLite.MS", "Data Source=worker-state.db")
    // WithClusterPeriodicTasks, not the core WithPeriodicTasks: the core library refuses state.store = sql.
    .WithClusterPeriodicTasks<Maintenance>(options =>
    {
        options.SetName = "maintenance";
        options.PeriodicInterval = TimeSpan.FromSeconds(1);  // the tick: a calendar task runs on the first tick at or after its time
        options.ShutdownTimeout = TimeSpan.FromSeconds(5);   // Ctrl+C: runs in flight are cancelled and awaited this long
    }));

await builder.Build().RunAsync(); // Ctrl+C or SIGTERM: the host stops, and the task set stops in CoordinatedShutdown
