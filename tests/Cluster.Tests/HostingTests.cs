using ActorScheduler.Hosting;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>Akka.Hosting: WithClusterPeriodicTasks next to WithRemoting and WithClustering, state by WithPeriodicTaskState.</summary>
public sealed class HostingTests
{
    public sealed class Jobs
    {
        private int _reports;
        private int _locals;

        public int Reports => Volatile.Read(ref _reports);

        public int Locals => Volatile.Read(ref _locals);

        [PeriodicTask]
        public void Report() => Interlocked.Increment(ref _reports);

        [PeriodicTask]
        public void Local() => Interlocked.Increment(ref _locals);
    }

    [Fact]
    public async Task WithClusterPeriodicTasks_runs_the_chosen_tasks_in_the_singleton_and_the_others_on_the_node()
    {
        using var backend = StateBackend.Sqlite();
        var jobs = new Jobs();
        using var host = new HostBuilder().ConfigureServices(services =>
        {
            services.AddSingleton(jobs);
            services.AddPeriodicTaskClients();
            services.AddAkka("actor-scheduler", (builder, _) => builder
                .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
                .WithRemoting("127.0.0.1", 0)
                .WithClustering(new ClusterOptions { Roles = ["worker"] })
                .WithPeriodicTaskState(backend.Provider, backend.ConnectionString)
                .WithClusterPeriodicTasks<Jobs>(options =>
                {
                    options.PeriodicInterval = TimeSpan.FromMilliseconds(100);
                    options.InitialDelay = TimeSpan.FromMilliseconds(100);
                    options.Tasks["Report"] = new TaskOptionsOverride { Scope = TaskScope.Cluster, Role = "worker" };
                })
                .AddStartup((system, _) => Akka.Cluster.Cluster.Get(system).Join(Akka.Cluster.Cluster.Get(system).SelfAddress)));
        }).Build();
        await host.StartAsync();
        try
        {
            var registry = host.Services.GetRequiredService<ActorRegistry>();
            var singleton = await registry.GetAsync<ClusterTasks<Jobs>>();
            var node = await registry.GetAsync<Jobs>();
            await TestCluster.WaitUntilAsync(() => jobs.Reports >= 3 && jobs.Locals >= 3, TimeSpan.FromSeconds(15), "runs of both tasks");
            var clusterStats = await singleton.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(5));
            var nodeStats = await node.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(5));
            Assert.Equal(["Report"], clusterStats.Tasks.Select(t => t.Task));
            Assert.Equal(["Local"], nodeStats.Tasks.Select(t => t.Task));

            // The typed client covers the whole set: this node's tasks, then the singleton's.
            var client = host.Services.GetRequiredService<PeriodicTaskClient<Jobs>>();
            Assert.Equal(["Local", "Report"], (await client.GetStatsAsync()).Tasks.Select(t => t.Task));
            Assert.True((await client.PauseAsync("Report", "from the client")).Paused);
            Assert.Equal("from the client", (await singleton.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(5)))["Report"].PauseNote);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Theory]
    [InlineData("", 1.5)]
    [InlineData("akka.cluster.failure-detector.acceptable-heartbeat-pause = 5s", 5.0)]
    public async Task WithClusterPeriodicTasks_ships_the_fail_over_timings_where_the_application_sets_none(string hocon, double pauseSeconds)
    {
        using var host = new HostBuilder().ConfigureServices(services => services.AddAkka("actor-scheduler", (builder, _) => builder
            .AddHocon("akka.loglevel = WARNING\n" + hocon, HoconAddMode.Prepend)
            .WithRemoting("127.0.0.1", 0)
            .WithClustering(new ClusterOptions())
            .WithClusterPeriodicTasks<Jobs>(_ => { }))).Build();
        await host.StartAsync();
        try
        {
            var settings = Akka.Cluster.Cluster.Get(host.Services.GetRequiredService<ActorSystem>()).Settings;
            Assert.Equal(TimeSpan.FromSeconds(pauseSeconds), settings.FailureDetectorConfig.GetTimeSpan("acceptable-heartbeat-pause", null));
            Assert.Equal(TimeSpan.FromMilliseconds(500), settings.HeartbeatInterval);
            Assert.Equal(TimeSpan.FromMilliseconds(250), settings.UnreachableNodesReaperInterval);
            Assert.Equal(TimeSpan.FromMilliseconds(250), settings.LeaderActionsInterval);
            Assert.Equal(TimeSpan.FromMilliseconds(500), settings.GossipInterval);
            Assert.Equal(TimeSpan.FromSeconds(1), Akka.Cluster.Cluster.Get(host.Services.GetRequiredService<ActorSystem>()).DowningProvider.DownRemovalMargin);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
