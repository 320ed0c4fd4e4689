using ActorScheduler.Configuration;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Tasks;
using Akka.Configuration;
using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>The host reads its settings with its own keys and the cluster package's, in process.</summary>
public class HostKeysTests
{
    private static HostPlan Build(string hocon) =>
        HostPlan.Build(new LoadedConfig(ConfigurationFactory.ParseString(hocon), "test.conf", Directory.GetCurrentDirectory(), "test", IsBuiltIn: false));

    private static PeriodicTaskConfigurationException Fails(string hocon) =>
        Assert.Throws<PeriodicTaskConfigurationException>(() => Build(hocon));

    [Fact]
    public void A_command_entry_becomes_a_command_task()
    {
        var plan = Build("actor-scheduler.tasks.backup { command = \"true\", spacing = 10m }");
        Assert.Equal("true", plan.Commands["backup"].ShellCommand);
        Assert.Equal(TimeSpan.FromMinutes(10), Assert.Single(plan.Tasks).Options.Spacing);
    }

    [Fact]
    public void A_command_entry_may_set_the_cluster_keys()
    {
        var plan = Build("akka.actor.provider = cluster\nactor-scheduler.tasks.backup { command = \"true\", scope = cluster, role = ops }");
        var options = Assert.Single(plan.Tasks).Options;
        Assert.Equal((TaskScope.Cluster, "ops"), (options.Scope, options.Role));
    }

    [Theory]
    [InlineData("", "test")]
    [InlineData("akka.actor.provider = cluster", HostPlan.ClusterSetName)]
    [InlineData("akka.actor.provider = cluster\nactor-scheduler-host.set-name = jobs", "jobs")]
    [InlineData("actor-scheduler-host.set-name = jobs", "jobs")]
    public void The_set_is_named_after_the_file_alone_but_the_same_on_every_node_of_a_cluster(string hocon, string setName)
    {
        var plan = Build(hocon + "\nactor-scheduler.tasks.backup { command = \"true\" }");
        Assert.Equal(setName, plan.Set.Name);
    }

    [Theory]
    [InlineData("actor-scheduler.tasks.backup { command = \"true\", comand = \"false\" }", "actor-scheduler.tasks.backup.comand", "did you mean 'command'?")]
    [InlineData("actor-scheduler.tasks.backup { command = \"true\", scpe = cluster }", "actor-scheduler.tasks.backup.scpe", "did you mean 'scope'?")]
    [InlineData("actor-scheduler.tasks.backup { command = \"true\", enviroment { A = 1 } }", "actor-scheduler.tasks.backup.enviroment", "did you mean 'environment'?")]
    [InlineData("actor-scheduler.assemblys = []", "actor-scheduler.assemblys", "did you mean 'assemblies'?")]
    public void An_unknown_key_is_an_error_naming_its_path_and_the_closest_key(string hocon, string path, string suggestion)
    {
        var error = Fails(hocon);
        Assert.Equal(path, error.Path);
        Assert.Contains("unknown key; " + suggestion, error.Message);
    }

    [Theory]
    [InlineData("actor-scheduler.tasks.backup { command = \"  \" }", "actor-scheduler.tasks.backup.command", "must be a non-empty string")]
    [InlineData("actor-scheduler.tasks.backup { command = \"true\", environment = 5 }", "actor-scheduler.tasks.backup.environment", "must be an object")]
    [InlineData("actor-scheduler.tasks.backup { working-directory = \"/\" }", "actor-scheduler.tasks.backup.working-directory", "only applies to a command task")]
    public void The_host_checks_its_own_task_keys(string hocon, string path, string problem)
    {
        var error = Fails(hocon);
        Assert.Equal(path, error.Path);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void The_host_reference_config_holds_the_host_keys_with_their_defaults()
    {
        var section = HostConfiguration.Keys.DefaultConfig.GetConfig("actor-scheduler");
        Assert.Equal(["assemblies"], section.Root.GetObject().Items.Keys);
        Assert.Empty(section.GetStringList("assemblies"));
    }
}
