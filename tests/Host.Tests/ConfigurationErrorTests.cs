using Xunit;

namespace ActorScheduler.Host.Tests;

/// <summary>Every configuration mistake: exit code 2, one line naming the full key path (or the file and line).</summary>
public class ConfigurationErrorTests
{
    public static TheoryData<string, string, string> BadConfigurations => new()
    {
        // description, configuration, text the one-line error must contain
        { "typo in a root key", "actor-scheduler.periodic-intervall = 1s",
            "actor-scheduler.periodic-intervall: unknown key; did you mean 'periodic-interval'?" },
        { "not a duration", "actor-scheduler.periodic-interval = fast",
            "actor-scheduler.periodic-interval: \"fast\" is not a duration" },
        { "zero interval", "actor-scheduler.periodic-interval = 0s", "actor-scheduler.periodic-interval: must be > 0" },
        { "bad boolean", "actor-scheduler.raise-on-error = maybe", "actor-scheduler.raise-on-error: \"maybe\" is not a boolean" },
        { "negative ticks", "actor-scheduler.tasks.backup { command = \"true\", ticks-between-runs = -1 }",
            "actor-scheduler.tasks.backup.ticks-between-runs: -1 is not allowed" },
        { "ticks and spacing", "actor-scheduler.tasks.backup { command = \"true\", ticks-between-runs = 2, spacing = 1m }",
            "actor-scheduler.tasks.backup.spacing: set ticks-between-runs or spacing, not both" },
        { "typo in a task key", "actor-scheduler.tasks.backup { command = \"true\", spacng = 1m }",
            "actor-scheduler.tasks.backup.spacng: unknown key; did you mean 'spacing'?" },
        { "typo in a host task key", "actor-scheduler.tasks.backup { comand = \"true\" }",
            "actor-scheduler.tasks.backup.comand: unknown key; did you mean 'command'?" },
        { "bad overlap", "actor-scheduler.tasks.backup { command = \"true\", overlap = sometimes }",
            "actor-scheduler.tasks.backup.overlap: \"sometimes\" is not allowed; use one of: skip, queue" },
        { "zero timeout", "actor-scheduler.tasks.backup { command = \"true\", timeout = 0s }",
            "actor-scheduler.tasks.backup.timeout: must be > 0, or infinite" },
        { "entry naming no task", "actor-scheduler.tasks.ghost { spacing = 1m }",
            "actor-scheduler.tasks.ghost: no task named 'ghost'" },
        { "empty command list", "actor-scheduler.tasks.backup { command = [] }", "actor-scheduler.tasks.backup.command" },
        { "missing working directory", "actor-scheduler.tasks.backup { command = \"true\", working-directory = \"no/such/dir\" }",
            "actor-scheduler.tasks.backup.working-directory: directory \"no/such/dir\" does not exist" },
        { "nested environment", "actor-scheduler.tasks.backup { command = \"true\"\n environment { A { B = 1 } } }",
            "actor-scheduler.tasks.backup.environment.A: must be a string or number" },
        { "environment without command", "actor-scheduler.tasks.x { environment { A = 1 } }",
            "actor-scheduler.tasks.x.environment: only applies to a command task" },
        { "cluster scope without a cluster", "actor-scheduler.tasks.backup { command = \"true\", scope = cluster }",
            "actor-scheduler.tasks.backup.scope: cluster needs an Akka.NET cluster: set akka.actor.provider = cluster" },
        { "role on a node-scoped task", "actor-scheduler.tasks.backup { command = \"true\", role = indexer }",
            "actor-scheduler.tasks.backup.role: role applies only to scope = cluster" },
        { "bad set name", "actor-scheduler-host.set-name = \"a b\"", "actor-scheduler-host.set-name: \"a b\" is not a valid task set name" },
        { "missing plugin assembly", "actor-scheduler.assemblies = [\"plugins/Missing.dll\"]",
            "actor-scheduler.assemblies[0]: assembly \"plugins/Missing.dll\" not found" },
        { "assemblies not a list", "actor-scheduler.assemblies = \"Tasks.dll\"", "actor-scheduler.assemblies: must be a list" },
        { "typo in the host section", "actor-scheduler-host.dmo = on", "actor-scheduler-host.dmo: unknown key; did you mean 'demo'?" },
        { "typo in the http section", "actor-scheduler-host.http.endpont = \"127.0.0.1:0\"",
            "actor-scheduler-host.http.endpont: unknown key; did you mean 'endpoint'?" },
        { "bad http endpoint", "actor-scheduler-host.http.endpoint = nowhere",
            "actor-scheduler-host.http.endpoint: \"nowhere\" is not an endpoint; use HOST:PORT" },
        { "http port out of range", "actor-scheduler-host.http.endpoint = \"127.0.0.1:70000\"",
            "actor-scheduler-host.http.endpoint: \"127.0.0.1:70000\" is not an endpoint" },
        { "bad http read-only", "actor-scheduler-host.http.read-only = maybe", "actor-scheduler-host.http.read-only: \"maybe\" is not a boolean" },
        { "non-loopback endpoint without a token", "actor-scheduler-host.http.endpoint = \"0.0.0.0:0\"",
            "actor-scheduler-host.http.token: required when the endpoint is not a loopback address" },
        { "bad akka log level", "akka.loglevel = LOUD", "akka.loglevel: \"LOUD\" is not allowed" },
        { "unknown state store", "actor-scheduler.state.store = redis", "actor-scheduler.state.store: \"redis\" is not allowed" },
        { "sql store without a provider", "actor-scheduler.state { store = sql, provider = \"\" }", "actor-scheduler.state.provider: must name a linq2db provider" },
    };

    [Theory]
    [MemberData(nameof(BadConfigurations))]
    public async Task A_bad_configuration_is_exit_2_naming_the_key_path(string description, string hocon, string expected)
    {
        _ = description;
        using var dir = new TempDir();
        var config = dir.Write("bad.conf", hocon);

        foreach (var command in new[] { "validate", "run" })
        {
            var result = await HostProcess.RunAsync(dir.Path, [command, "--config", config]);

            Assert.True(result.ExitCode == 2, $"{command}: {result}");
            Assert.Contains(expected, result.Stderr);
            Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.DoesNotContain("   at ", result.Stderr + result.Stdout);
        }
    }

    [Theory]
    [InlineData("actor-scheduler {\n  periodic-interval = 1s\n  tasks {\n    a { command = \"true\" }\n", 3, "never closed")]
    [InlineData("actor-scheduler {\n  periodic-interval = 1s\n}\n}\n", 4, "closes nothing")]
    [InlineData("actor-scheduler {\n  tasks {\n    a { command = \"true }\n  }\n}\n", 3, "quoted string")]
    [InlineData("actor-scheduler {\n  periodic-interval = 1s\n  tasks { a { environment { X = 1 }, command = \"true\" } }\n}\n", 3, "not valid HOCON")]
    public async Task A_HOCON_syntax_error_names_the_file_and_the_line(string text, int line, string expected)
    {
        using var dir = new TempDir();
        var config = dir.Write("broken.conf", text);

        var result = await HostProcess.RunAsync(dir.Path, ["validate", "--config", config]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"broken.conf: line {line}: not valid HOCON", result.Stderr);
        Assert.Contains(expected, result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Includes_resolve_against_the_including_file_and_their_errors_name_the_included_file()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("conf.d"));
        dir.Write("conf.d/tasks.conf", "actor-scheduler.tasks.backup { command = \"true\", spacing = 10m }\n");
        dir.Write("conf.d/broken.conf", "actor-scheduler {\n  tasks {\n");
        var main = dir.Write("main.conf", "include \"conf.d/tasks.conf\"\nactor-scheduler.periodic-interval = 1m\n");
        var bad = dir.Write("bad.conf", "include \"conf.d/broken.conf\"\n");

        var ok = await HostProcess.RunAsync(dir.Path, ["list", "--config", main]);
        var broken = await HostProcess.RunAsync(dir.Path, ["validate", "--config", bad]);

        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Matches(@"backup\s+every 10m", ok.Stdout);
        Assert.Equal(2, broken.ExitCode);
        Assert.Contains("conf.d/broken.conf: line 2: not valid HOCON", broken.Stderr);
    }

    [Theory]
    [InlineData("include \"conf.d/b.conf\"\n", "include \"../main.conf\"\n", "conf.d/b.conf: include \"../main.conf\": include cycle: main.conf -> conf.d/b.conf -> main.conf.")]
    [InlineData("include \"main.conf\"\n", "", "main.conf: include \"main.conf\": include cycle: main.conf -> main.conf.")]
    public async Task An_include_cycle_is_exit_2_with_one_line_naming_the_files_of_the_cycle(string main, string other, string expected)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("conf.d"));
        dir.Write("conf.d/b.conf", other);
        dir.Write("main.conf", main + "actor-scheduler.periodic-interval = 1m\n");

        foreach (var command in new[] { "validate", "run" })
        {
            var result = await HostProcess.RunAsync(dir.Path, [command, "--config", "main.conf"]);

            Assert.True(result.ExitCode == 2, $"{command}: {result}");
            Assert.Equal($"error: {expected}", result.Stderr.Trim());
            Assert.DoesNotContain("   at ", result.Stdout + result.Stderr);
        }
    }

    [Theory]
    [InlineData("include \"missing.conf\"")]
    [InlineData("include required(\"missing.conf\")")]
    [InlineData("include file(\"missing.conf\")")]
    [InlineData("include required(file(\"missing.conf\"))")]
    public async Task A_missing_include_is_exit_2_with_one_line_naming_the_including_file_and_the_missing_one(string include)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("conf.d"));
        dir.Write("conf.d/tasks.conf", include + "\n");
        dir.Write("main.conf", "include \"conf.d/tasks.conf\"\nactor-scheduler.periodic-interval = 1m\n");

        foreach (var command in new[] { "validate", "run" })
        {
            var result = await HostProcess.RunAsync(dir.Path, [command, "--config", "main.conf"]);

            Assert.True(result.ExitCode == 2, $"{command}: {result}");
            Assert.Equal($"error: conf.d/tasks.conf: include \"missing.conf\": file not found ({dir.File("conf.d/missing.conf")}).",
                result.Stderr.Trim());
            Assert.DoesNotContain("   at ", result.Stdout + result.Stderr);
        }
    }

    [Fact]
    public async Task Required_and_file_includes_are_read_and_so_are_the_keys_after_them()
    {
        using var dir = new TempDir();
        dir.Write("tasks.conf", "actor-scheduler.tasks.backup { command = \"true\", spacing = 10m }\n");
        var main = dir.Write("main.conf", "include required(file(\"tasks.conf\"))\nactor-scheduler.periodic-interval = 2m\n");

        var result = await HostProcess.RunAsync(dir.Path, ["list", "--config", main]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("tick every 2m", result.Stdout);
        Assert.Matches(@"backup\s+every 10m", result.Stdout);
    }

    [Theory]
    [InlineData("url(\"https://example.com/tasks.conf\")", "url")]
    [InlineData("classpath(\"tasks.conf\")", "classpath")]
    public async Task An_include_that_is_not_a_file_is_exit_2_naming_the_line(string target, string form)
    {
        using var dir = new TempDir();
        var main = dir.Write("main.conf", $"actor-scheduler.periodic-interval = 1m\ninclude {target}\n");

        var result = await HostProcess.RunAsync(dir.Path, ["validate", "--config", main]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"main.conf: line 2: include {form}(...) is not supported", result.Stderr);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_directory_given_as_config_is_exit_2_naming_it()
    {
        using var dir = new TempDir();

        var result = await HostProcess.RunAsync(dir.Path, ["list", "--config", dir.Path]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{dir.Path}: is a directory", result.Stderr);
    }

    [Fact]
    public async Task An_empty_file_is_a_valid_configuration_with_no_tasks()
    {
        using var dir = new TempDir();
        var config = dir.Write("empty.conf", "");

        var result = await HostProcess.RunAsync(dir.Path, ["validate", "--config", config]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("valid: task set empty, 0 tasks", result.Stdout);
    }
}
