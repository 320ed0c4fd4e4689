using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// A manager's stop requests on their own, inside a small host actor that stands for the manager (its timers, on Akka's
/// TestScheduler): every requester answered once the set has stopped, and the shutdown-timeout timer.
/// </summary>
public class StopRequestsTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private IActorRef? _hostRef;

    private Task On(Action<StopRequests> use)
    {
        var test = TestActor;
        _hostRef ??= Sys.ActorOf(Props.Create(() => new CollaboratorHost<StopRequests>((_, owner) => new StopRequests("s", owner),
            (_, message) => test.Tell(message))), "manager");
        return CollaboratorHost<StopRequests>.On<object?>(_hostRef, r =>
        {
            use(r);
            return null;
        }, RemainingOrDefault);
    }

    [Fact]
    public async Task Every_requester_gets_TasksStopped_with_the_runs_still_in_flight_once_and_the_wait_timer_is_cancelled()
    {
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        await On(r => r.Add(first.Ref));
        await On(r => r.Add(second.Ref));
        await On(r => r.WaitAtMost(TimeSpan.FromSeconds(5)));

        await On(r => r.Stopped(2));
        Assert.Equal(("s", 2), (first.ExpectMsg<TasksStopped>().SetName, second.ExpectMsg<TasksStopped>().StillRunning));
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no timeout after the stop

        await On(r => r.Stopped(0)); // answered requesters are not answered again
        first.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task The_wait_for_runs_in_flight_ends_with_TimedOut_after_the_timeout()
    {
        await On(r => r.WaitAtMost(TimeSpan.FromSeconds(5)));
        Scheduler.Advance(TimeSpan.FromSeconds(4));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        ExpectMsg<StopRequests.TimedOut>();
    }
}
