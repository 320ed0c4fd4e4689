using ActorScheduler.Messages;
using Akka.Actor;

namespace ActorScheduler.Dashboard.Tests;

/// <summary>
/// A stand-in for the manager of a set whose task "remote" runs on another node: this node saw none of its runs, and
/// its set's state store keeps two.
/// </summary>
public sealed class KeptRunsManager : ReceiveActor
{
    public const string Node = "akka.tcp://actor-scheduler@10.0.0.2:4053";

    public static readonly DateTimeOffset LastStart = new(2026, 12, 1, 12, 0, 4, TimeSpan.Zero);

    public KeptRunsManager()
    {
        Receive<GetTaskStats>(_ => Sender.Tell(new TaskStatsReport("kept", 4, [
            new TaskStats("remote", "every 1 s", true, 2, 1, 1, 0, 0, 0, 0, false, LastStart, TimeSpan.FromMilliseconds(30),
                TimeSpan.FromMilliseconds(25), TimeSpan.FromMilliseconds(30), 5, LastStart.AddSeconds(1), false, null, null, 0, 0),
        ])));
        Receive<GetRecentRuns>(q => Sender.Tell(new RecentRunsReport("kept", q.Task, true, [
            new PeriodicTaskRun(4, LastStart, LastStart, TimeSpan.FromMilliseconds(30), "succeeded", 1, Node),
            new PeriodicTaskRun(3, LastStart.AddSeconds(-1), LastStart.AddSeconds(-1), TimeSpan.FromMilliseconds(20), "failed", 2, Node),
        ])));
    }

}

/// <summary>One <see cref="KeptRunsManager"/> per ActorSystem.</summary>
public static class KeptRuns
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ActorSystem, IActorRef> Managers = new();

    public static IActorRef ManagerIn(ActorSystem system) =>
        Managers.GetValue(system, s => s.ActorOf(Props.Create(() => new KeptRunsManager()), "kept-runs-manager"));
}
