using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>Declaring tasks by attribute: signatures, options, the type hierarchy, and mistakes named at start.</summary>
public class DiscoveryTests
{
    public class ComputeManager
    {
        public readonly List<string> Calls = [];

        [PeriodicTask]
        public void UpdateAvailableResource() => Calls.Add("base.update");

        [PeriodicTask(TicksBetweenRuns = 10)]
        protected virtual void SyncPowerStates(PeriodicTaskContext context) => Calls.Add($"base.sync:{context.Tick}");

        [PeriodicTask(Spacing = "10m", RunImmediately = true, Timeout = "30s", Overlap = OverlapMode.Queue)]
        public Task HealInstanceInfoCache(CancellationToken token) { Calls.Add("base.heal"); return Task.CompletedTask; }

        [PeriodicTask(Name = "poll-shelved", Spacing = "1h", Enabled = false)]
        private ValueTask PollShelved(PeriodicTaskContext context, CancellationToken token) { Calls.Add("base.poll"); return ValueTask.CompletedTask; }

        public void NotATask() { }
    }

    public class LibvirtComputeManager : ComputeManager
    {
        protected override void SyncPowerStates(PeriodicTaskContext context) => Calls.Add($"derived.sync:{context.Tick}");

        [PeriodicTask(TicksBetweenRuns = 2)]
        public void CleanupRunningDeletedInstances() => Calls.Add("derived.cleanup");
    }

    public class ReschedulingManager : ComputeManager
    {
        [PeriodicTask(TicksBetweenRuns = 4)]
        protected override void SyncPowerStates(PeriodicTaskContext context) => Calls.Add("rescheduled.sync");
    }

    private static PeriodicTaskContext Context(long tick = 7) =>
        new("set", "task", tick, DateTimeOffset.UnixEpoch, null!, NoLogger.Instance, CancellationToken.None);

    [Fact]
    public void Finds_marked_methods_of_every_supported_signature_with_their_options()
    {
        var tasks = TaskDiscovery.Discover(new ComputeManager());
        Assert.Equal(["UpdateAvailableResource", "SyncPowerStates", "HealInstanceInfoCache", "poll-shelved"], tasks.Select(t => t.Name));
        Assert.Null(tasks[0].Options.TicksBetweenRuns);
        Assert.Equal(10, tasks[1].Options.TicksBetweenRuns);
        var heal = tasks[2].Options;
        Assert.Equal(TimeSpan.FromMinutes(10), heal.Spacing);
        Assert.True(heal.RunImmediately);
        Assert.Equal(TimeSpan.FromSeconds(30), heal.Timeout);
        Assert.Equal(OverlapMode.Queue, heal.Overlap);
        Assert.Equal(TimeSpan.FromHours(1), tasks[3].Options.Spacing);
        Assert.True(tasks[3].Options.IsDisabled);
    }

    [Fact]
    public async Task Bodies_call_the_method_with_its_context_and_token()
    {
        var manager = new ComputeManager();
        foreach (var task in TaskDiscovery.Discover(manager))
            await task.Body(Context(), CancellationToken.None);
        Assert.Equal(["base.update", "base.sync:7", "base.heal", "base.poll"], manager.Calls);
    }

    [Fact]
    public async Task A_subclass_has_its_bases_tasks_first_and_an_override_replaces_the_base_task_in_place()
    {
        var manager = new LibvirtComputeManager();
        var tasks = TaskDiscovery.Discover(manager);
        Assert.Equal(
            ["UpdateAvailableResource", "SyncPowerStates", "HealInstanceInfoCache", "poll-shelved", "CleanupRunningDeletedInstances"],
            tasks.Select(t => t.Name));
        await tasks[1].Body(Context(3), CancellationToken.None);
        Assert.Equal(["derived.sync:3"], manager.Calls); // the override ran, once, and the base's body did not
    }

    [Fact]
    public void An_override_that_is_marked_again_replaces_the_base_tasks_options()
    {
        var tasks = TaskDiscovery.Discover(new ReschedulingManager());
        var sync = Assert.Single(tasks, t => t.Name == "SyncPowerStates");
        Assert.Equal(4, sync.Options.TicksBetweenRuns);
        Assert.Equal(1, tasks.ToList().IndexOf(sync));
    }

    public class BadSignature
    {
        [PeriodicTask]
        public void Sync(int count) { }
    }

    public class BadReturn
    {
        [PeriodicTask]
        public int Sync() => 1;
    }

    public class StaticTask
    {
        [PeriodicTask]
        public static void Sync() { }
    }

    public class DuplicateNames
    {
        [PeriodicTask(Name = "sync")]
        public void First() { }

        [PeriodicTask(Name = "sync")]
        public void Second() { }
    }

    public class BothSchedules
    {
        [PeriodicTask(TicksBetweenRuns = 2, Spacing = "1m")]
        public void Sync() { }
    }

    public class BadSpacing
    {
        [PeriodicTask(Spacing = "ten minutes")]
        public void Sync() { }
    }

    [Theory]
    [InlineData(typeof(BadSignature), "BadSignature.Sync(Int32)")]
    [InlineData(typeof(BadReturn), "BadReturn.Sync()")]
    [InlineData(typeof(StaticTask), "StaticTask.Sync()")]
    [InlineData(typeof(DuplicateNames), "two periodic tasks named 'sync'")]
    [InlineData(typeof(BothSchedules), "not both")]
    [InlineData(typeof(BadSpacing), "\"ten minutes\" is not a duration")]
    public void A_mistake_in_a_declaration_is_an_error_naming_the_method(Type type, string expected)
    {
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() => TaskDiscovery.Discover(Activator.CreateInstance(type)!));
        Assert.Contains(expected, error.Message);
        Assert.Contains("method " + type.Name, error.Message);
    }

    [Fact]
    public void A_code_task_with_the_name_of_an_attribute_task_is_an_error_naming_both()
    {
        var set = new PeriodicTaskSet("compute").AddTasksOf(new ComputeManager());
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() => set.Add("SyncPowerStates", _ => { }));
        Assert.Contains("task 'SyncPowerStates' added in code", error.Message);
        Assert.Contains("method ComputeManager.SyncPowerStates", error.Message);
    }

    [Fact]
    public void Code_tasks_follow_attribute_tasks_in_registration_order()
    {
        var set = new PeriodicTaskSet("compute")
            .AddTasksOf(new ComputeManager())
            .Add("b", _ => { })
            .Add("a", (_, _) => ValueTask.CompletedTask);
        Assert.Equal(["UpdateAvailableResource", "SyncPowerStates", "HealInstanceInfoCache", "poll-shelved", "b", "a"], set.Tasks.Select(t => t.Name));
    }

    [Fact]
    public void An_invalid_set_name_is_refused()
    {
        Assert.Throws<PeriodicTaskDefinitionException>(() => new PeriodicTaskSet("has space"));
    }
}
