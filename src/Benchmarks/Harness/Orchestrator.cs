namespace ActorScheduler.Benchmarks.Harness; public static class Orchestrator { public static Task<int> RunAsync(string[] a) => Task.FromResult(0); }
