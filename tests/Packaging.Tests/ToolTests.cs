using System.Text.RegularExpressions;
using ActorScheduler.Testing.Support;
using Xunit;

namespace ActorScheduler.Packaging.Tests;

/// <summary>
/// The actor-scheduler tool as a user gets it: installed from the packed feed into a tool path, and run from a
/// working directory outside the repository (the built-in demo must come from the package itself).
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed class ToolTests(PackagesFixture packages) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("actor-scheduler-tool-work-").FullName;

    private const string SmallConfig = """
        actor-scheduler {
          periodic-interval = 1s
          tasks {
            say-hello { command = ["/bin/echo", "hello"], run-immediately = on }
          }
        }
        """;

    private async Task<ProcessResult> Tool(params string[] args)
    {
        var install = await packages.ToolInstall;
        if (install.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"dotnet tool install failed\n{install}");
        return await ChildProcess.RunAsync(packages.ToolExecutable, args, _work, TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// Runs the tool until <paramref name="seen"/> holds for its standard output (at most 90 s), then stops it with
    /// SIGINT and waits for its own exit: the run ends on what happened, not after a fixed time.
    /// </summary>
    private async Task<ProcessResult> ToolUntil(Func<string, bool> seen, string what, params string[] args)
    {
        var install = await packages.ToolInstall;
        if (install.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"dotnet tool install failed\n{install}");
        using var tool = ChildProcess.Start(packages.ToolExecutable, args, _work);
        await tool.WaitUntilAsync(() => seen(tool.Stdout), what, TimeSpan.FromSeconds(90));
        tool.Interrupt();
        await tool.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return tool.Result();
    }

    private static bool Succeeded(string stdout, string task) => stdout.Contains($"\"event\":\"succeeded\",\"task\":\"{task}\"", StringComparison.Ordinal);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_work, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task The_tool_installs_from_the_local_feed_into_a_tool_path()
    {
        var install = await packages.ToolInstall;
        Assert.True(install.ExitCode == 0, install.ToString());
        Assert.Contains($"'{PackagesFixture.ToolId}' (version '{PackagesFixture.Version}')", install.Stdout);
        Assert.True(File.Exists(packages.ToolExecutable), $"no {packages.ToolExecutable} after the install\n{install}");
    }

    [Fact]
    public async Task Version_prints_the_one_version()
    {
        var result = await Tool("--version");
        Assert.True(result.ExitCode == 0, result.ToString());
        // The informational version: the one version, then "+" and the commit it was built from.
        Assert.Matches($@"^{Regex.Escape(PackagesFixture.Version)}(\+[0-9a-f]+)?\s*$", result.Stdout);
    }

    [Fact]
    public async Task Validate_accepts_the_built_in_demo_from_any_working_directory()
    {
        var result = await Tool("validate");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("built-in demo", result.Output);
        Assert.Contains("valid", result.Output);
    }

    [Fact]
    public async Task Validate_accepts_a_small_config_file()
    {
        var result = await Tool("validate", "--config", Write("small.conf", SmallConfig));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("valid: task set small, 1 task", result.Output);
    }

    [Fact]
    public async Task Validate_refuses_a_broken_file_with_exit_code_2()
    {
        var broken = Write("broken.conf", """
            actor-scheduler {
              tasks {
                say-hello { command = "echo hello", spacing = "not a duration" }
              }
            }
            """);
        var result = await Tool("validate", "--config", broken);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("spacing", result.Output);
    }

    [Fact]
    public async Task Run_runs_the_built_in_demo_and_on_SIGINT_prints_a_summary_with_runs()
    {
        var result = await ToolUntil(o => Succeeded(o, "_poll_rebooting_instances"), "_poll_rebooting_instances succeeded", "run", "--events", "-");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Summary of ComputeManager", result.Output);
        var runs = Regex.Match(result.Output, @"^_poll_rebooting_instances\s+(\d+)\s+(\d+)\s", RegexOptions.Multiline);
        Assert.True(runs.Success, "no summary row for _poll_rebooting_instances\n" + result);
        Assert.True(int.Parse(runs.Groups[2].Value) >= 1, "_poll_rebooting_instances never succeeded\n" + result);
    }

    [Fact]
    public async Task Run_runs_the_tasks_of_a_config_file_and_writes_their_events()
    {
        var result = await ToolUntil(o => Succeeded(o, "say-hello"), "say-hello succeeded",
            "run", "--config", Write("small.conf", SmallConfig), "--events", "-");
        Assert.True(result.ExitCode == 0, result.ToString());
        var runs = Regex.Match(result.Output, @"^say-hello\s+(\d+)\s+(\d+)\s", RegexOptions.Multiline);
        Assert.True(runs.Success && int.Parse(runs.Groups[2].Value) >= 1, "say-hello did not succeed\n" + result);
    }

    [Fact]
    public async Task Run_joins_a_one_node_cluster_through_cluster_bootstrap_with_the_packed_akka_management()
    {
        // Akka.Management's endpoint, Cluster Bootstrap and config discovery, from the tool's own dependencies.
        // Bootstrap timings tuned for this test only (production values: docs/cluster.md).
        var (remoting, management) = (FreePorts.One(), FreePorts.One());
        var config = Write("bootstrap.conf", $$"""
            actor-scheduler-host { cluster.bootstrap = on, http.endpoint = off }
            akka {
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{remoting}} }
              management.http.port = {{management}}
              management.cluster.bootstrap {
                contact-point-discovery { required-contact-point-nr = 1, stable-margin = 500ms, interval = 200ms }
                contact-point.probe-interval = 500ms
              }
              discovery { method = config, config.services.actor-scheduler.endpoints = ["127.0.0.1:{{management}}"] }
            }
            actor-scheduler {
              periodic-interval = 500ms
              tasks { once-per-cluster { command = "true", scope = cluster, run-immediately = on, spacing = 1h } }
            }
            """);

        var result = await ToolUntil(o => Succeeded(o, "once-per-cluster"), "once-per-cluster succeeded", "run", "--config", config, "--events", "-");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Initiating new cluster, self-joining [akka.tcp://actor-scheduler@127.0.0.1:{remoting}]", result.Output);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
