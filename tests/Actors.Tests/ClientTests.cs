using ActorScheduler.Hosting;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>The typed client (docs/control.md): every call answers, or fails with a clear error.</summary>
public class ClientTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    [Fact]
    public async Task The_client_reads_stats_pauses_resumes_triggers_adds_updates_and_removes()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("backup", _ => { }, EveryTicks(10)));
        var client = new PeriodicTaskClient(manager);
        Assert.Equal(["backup"], (await client.GetStatsAsync()).Tasks.Select(t => t.Task));
        Assert.Equal("maintenance", (await client.PauseAsync("backup", "maintenance")).PauseNote);
        Assert.False((await client.ResumeAsync("backup")).Paused);
        Assert.True((await client.TriggerAsync("backup")).Started);
        Assert.Equal(["report"], (await client.AddAsync("report", (_, _) => ValueTask.CompletedTask, EveryTicks(2))).Added);
        Assert.Equal(["report"], (await client.UpdateAsync("report", EveryTicks(5))).Updated);
        Assert.Equal("every 6 ticks = 360 s", (await client.GetTaskAsync("report")).Schedule);
        Assert.Equal(["report"], (await client.RemoveAsync("report")).Removed);
        Assert.Equal(["backup"], (await client.GetStatsAsync()).Tasks.Select(t => t.Task));
    }

    [Fact]
    public async Task The_client_names_an_unknown_task_and_refuses_invalid_options_before_sending()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("backup", _ => { }));
        var client = new PeriodicTaskClient(manager);
        var unknown = await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => client.PauseAsync("bakup"));
        Assert.Equal(("compute", "bakup"), (unknown.SetName, unknown.TaskName));
        Assert.Contains("did you mean 'backup'?", unknown.Message);
        await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => client.GetTaskAsync("nope"));
        var invalid = await Assert.ThrowsAsync<PeriodicTaskDefinitionException>(() =>
            client.AddAsync("bad", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { TicksBetweenRuns = -1 }));
        Assert.Contains("ticks-between-runs", invalid.Message);
    }

    [Fact]
    public async Task A_set_that_does_not_answer_within_the_timeout_is_reported_as_not_ready()
    {
        var silent = CreateTestProbe();
        var client = new PeriodicTaskClient(silent.Ref, TimeSpan.FromMilliseconds(300));
        var error = await Assert.ThrowsAsync<TaskSetNotReadyException>(() => client.GetStatsAsync());
        Assert.Contains("did not answer within 300ms", error.Message);
    }

    [Fact]
    public async Task A_set_stopping_refuses_changes_with_a_clear_error()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("backup", _ => { }));
        await manager.Ask<TasksStopped>(StopTasks.Instance);
        var client = new PeriodicTaskClient(manager);
        var error = await Assert.ThrowsAsync<TaskSetUnavailableException>(() => client.RemoveAsync("backup"));
        Assert.Contains("is stopped", error.Message);
    }

    public sealed class Jobs
    {
        [PeriodicTask(TicksBetweenRuns = 1000)]
        public void Backup()
        {
        }
    }

    [Fact]
    public async Task With_Akka_Hosting_the_client_is_resolved_from_DI_and_waits_for_the_set_to_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddPeriodicTaskClients();
        builder.Services.AddAkka("client-test", akka => akka.WithPeriodicTasks<Jobs>());
        using var host = builder.Build();
        var client = host.Services.GetRequiredService<PeriodicTaskClient<Jobs>>();
        var stats = client.GetStatsAsync(); // asked before the ActorSystem starts
        await host.StartAsync();
        try
        {
            var report = await stats;
            Assert.Equal(("Jobs", "Backup"), (report.SetName, report.Tasks.Single().Task));
            Assert.True((await client.PauseAsync("Backup", "from DI")).Paused);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
