using ActorScheduler.Host.Cli;

return await HostCli.RunAsync(args).ConfigureAwait(false);
