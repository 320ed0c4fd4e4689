using ActorScheduler.Runtime;
using ActorScheduler.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// Those waiting for a tick (<see cref="NotifyWhenTicked"/>) on their own: each gets <see cref="Ticked"/> once, with the
/// tick taken, as soon as a tick at least as high is taken.
/// </summary>
public class TickWaitersTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(100);

    [Fact]
    public void A_request_for_a_tick_already_taken_is_answered_at_once_with_the_current_tick()
    {
        var waiters = new TickWaiters();
        var probe = CreateTestProbe();
        waiters.Add(new NotifyWhenTicked(3), probe.Ref, current: 5);
        Assert.Equal(5, probe.ExpectMsg<Ticked>().Tick);
        waiters.Add(new NotifyWhenTicked(5), probe.Ref, current: 5);
        Assert.Equal(5, probe.ExpectMsg<Ticked>().Tick);

        waiters.Ticked(6); // answered requests do not wait on
        probe.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void A_request_for_a_higher_tick_is_not_answered()
    {
        var waiters = new TickWaiters();
        var probe = CreateTestProbe();
        waiters.Add(new NotifyWhenTicked(7), probe.Ref, current: 5);
        probe.ExpectNoMsg(Quiet);
        waiters.Ticked(6);
        probe.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void Before_the_first_tick_even_tick_0_waits()
    {
        var waiters = new TickWaiters();
        var probe = CreateTestProbe();
        waiters.Add(new NotifyWhenTicked(0), probe.Ref, current: null);
        probe.ExpectNoMsg(Quiet);
        waiters.Ticked(0);
        Assert.Equal(0, probe.ExpectMsg<Ticked>().Tick);
    }

    [Fact]
    public void A_waiter_is_answered_once_by_the_first_tick_that_reaches_its_tick()
    {
        var waiters = new TickWaiters();
        var probe = CreateTestProbe();
        waiters.Add(new NotifyWhenTicked(7), probe.Ref, current: 5);
        waiters.Ticked(9); // ticks may skip numbers: the taken tick is told
        Assert.Equal(9, probe.ExpectMsg<Ticked>().Tick);
        waiters.Ticked(10);
        probe.ExpectNoMsg(Quiet);
    }

    [Fact]
    public void One_tick_answers_every_waiter_it_reaches_and_only_those()
    {
        var waiters = new TickWaiters();
        var (early, exact, same, later) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        waiters.Add(new NotifyWhenTicked(3), early.Ref, current: 1);
        waiters.Add(new NotifyWhenTicked(4), exact.Ref, current: 1);
        waiters.Add(new NotifyWhenTicked(4), same.Ref, current: 1);
        waiters.Add(new NotifyWhenTicked(10), later.Ref, current: 1);

        waiters.Ticked(4);
        Assert.Equal(4, early.ExpectMsg<Ticked>().Tick);
        Assert.Equal(4, exact.ExpectMsg<Ticked>().Tick);
        Assert.Equal(4, same.ExpectMsg<Ticked>().Tick);
        later.ExpectNoMsg(Quiet);

        waiters.Ticked(10);
        Assert.Equal(10, later.ExpectMsg<Ticked>().Tick);
        early.ExpectNoMsg(Quiet);
        exact.ExpectNoMsg(TimeSpan.Zero);
        same.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void One_requester_waiting_twice_is_answered_twice()
    {
        var waiters = new TickWaiters();
        var probe = CreateTestProbe();
        waiters.Add(new NotifyWhenTicked(2), probe.Ref, current: 0);
        waiters.Add(new NotifyWhenTicked(3), probe.Ref, current: 0);
        waiters.Ticked(2);
        Assert.Equal(2, probe.ExpectMsg<Ticked>().Tick);
        probe.ExpectNoMsg(Quiet);
        waiters.Ticked(3);
        Assert.Equal(3, probe.ExpectMsg<Ticked>().Tick);
    }
}
