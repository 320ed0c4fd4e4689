using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>
/// A task's run state (docs/architecture.md, "A task's run state"): Idle, RecordingStart, Running and Retiring, left
/// only by the transitions <see cref="TaskState"/> checks; a wrong one throws, naming the task and its state.
/// </summary>
public class TaskStateTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(60);
    private static readonly Run FirstRun = new(1, DateTimeOffset.UnixEpoch);

    private static TaskState NewTask(string name = "sync") =>
        new(PeriodicTaskDefinition.FromCode(name, (_, _) => ValueTask.CompletedTask), 0, Interval);

    /// <summary>A task brought to <paramref name="state"/> by the allowed transitions (a theory names the state: RunState is internal).</summary>
    private static TaskState InState(string state) => InState(Enum.Parse<RunState>(state));

    private static TaskState InState(RunState state)
    {
        var task = NewTask();
        switch (state)
        {
            case RunState.RecordingStart:
                task.Start(FirstRun, recordFirst: true);
                break;
            case RunState.Running:
                task.Start(FirstRun, recordFirst: false);
                break;
            case RunState.Retiring:
                task.Start(FirstRun, recordFirst: false);
                task.Retire();
                break;
        }

        Assert.Equal(state, task.State);
        return task;
    }

    [Fact]
    public void A_new_task_is_idle_with_no_run()
    {
        var task = NewTask();
        Assert.Equal((RunState.Idle, false), (task.State, task.InFlight));
        Assert.Null(task.CurrentRun);
    }

    [Fact]
    public void Start_goes_from_Idle_to_Running_and_keeps_the_run()
    {
        var task = NewTask();
        task.Start(FirstRun, recordFirst: false);
        Assert.Equal(RunState.Running, task.State);
        Assert.Same(FirstRun, task.CurrentRun);
    }

    [Fact]
    public void Start_with_the_start_recorded_first_goes_from_Idle_to_RecordingStart_then_StartRecorded_to_Running()
    {
        var task = NewTask();
        task.Start(FirstRun, recordFirst: true);
        Assert.Equal(RunState.RecordingStart, task.State);
        Assert.Same(FirstRun, task.CurrentRun);

        task.StartRecorded();
        Assert.Equal(RunState.Running, task.State);
    }

    [Fact]
    public void Retire_goes_from_Running_to_Retiring_and_again_stays_Retiring()
    {
        var task = InState(RunState.Running);
        task.Retire();
        Assert.Equal(RunState.Retiring, task.State);
        task.Retire();
        Assert.Equal(RunState.Retiring, task.State);
    }

    [Fact]
    public void End_of_a_running_run_goes_to_Idle_and_keeps_the_runner()
    {
        var task = InState(RunState.Running);
        Assert.False(task.End());
        Assert.Equal(RunState.Idle, task.State);
        Assert.Same(FirstRun, task.CurrentRun); // the last run stays known
    }

    [Fact]
    public void End_of_a_retiring_run_goes_to_Idle_and_says_the_runner_must_be_stopped()
    {
        var task = InState(RunState.Retiring);
        Assert.True(task.End());
        Assert.Equal(RunState.Idle, task.State);
    }

    [Fact]
    public void End_of_a_start_being_recorded_goes_to_Idle_and_keeps_the_runner()
    {
        var task = InState(RunState.RecordingStart);
        Assert.False(task.End());
        Assert.Equal(RunState.Idle, task.State);
    }

    [Fact]
    public void After_an_end_the_task_starts_again()
    {
        var task = InState(RunState.Running);
        task.End();
        var second = new Run(2, DateTimeOffset.UnixEpoch.AddMinutes(1));
        task.Start(second, recordFirst: false);
        Assert.Equal((RunState.Running, second), (task.State, task.CurrentRun));
    }

    [Theory]
    [InlineData(nameof(RunState.Idle), false)]
    [InlineData(nameof(RunState.RecordingStart), true)]
    [InlineData(nameof(RunState.Running), true)]
    [InlineData(nameof(RunState.Retiring), true)]
    public void A_run_is_in_flight_in_every_state_but_Idle(string state, bool inFlight) =>
        Assert.Equal(inFlight, InState(state).InFlight);

    [Theory]
    [InlineData(nameof(RunState.RecordingStart))]
    [InlineData(nameof(RunState.Running))]
    [InlineData(nameof(RunState.Retiring))]
    public void Start_with_a_run_in_flight_throws_naming_the_task_and_state(string name)
    {
        var state = Enum.Parse<RunState>(name);
        var task = InState(state);
        var error = Assert.Throws<InvalidOperationException>(() => task.Start(new Run(2, DateTimeOffset.UnixEpoch), recordFirst: false));
        Assert.Equal($"cannot start a run of task 'sync' in state {state}.", error.Message);
        Assert.Equal(state, task.State);
        Assert.Same(FirstRun, task.CurrentRun); // the run in flight is not replaced
    }

    [Theory]
    [InlineData(nameof(RunState.Idle))]
    [InlineData(nameof(RunState.Running))]
    [InlineData(nameof(RunState.Retiring))]
    public void StartRecorded_outside_RecordingStart_throws_naming_the_task_and_state(string name)
    {
        var state = Enum.Parse<RunState>(name);
        var task = InState(state);
        var error = Assert.Throws<InvalidOperationException>(task.StartRecorded);
        Assert.Equal($"cannot record the start of a run of task 'sync' in state {state}.", error.Message);
        Assert.Equal(state, task.State);
    }

    [Theory]
    [InlineData(nameof(RunState.Idle))]
    [InlineData(nameof(RunState.RecordingStart))]
    public void Retire_without_a_run_at_its_runner_throws_naming_the_task_and_state(string name)
    {
        var state = Enum.Parse<RunState>(name);
        var task = InState(state);
        var error = Assert.Throws<InvalidOperationException>(task.Retire);
        Assert.Equal($"cannot retire the runner of a run of task 'sync' in state {state}.", error.Message);
        Assert.Equal(state, task.State);
    }

    [Fact]
    public void End_while_Idle_throws_naming_the_task_and_state()
    {
        var task = NewTask("cleanup");
        var error = Assert.Throws<InvalidOperationException>(() => task.End());
        Assert.Equal("cannot end a run of task 'cleanup' in state Idle.", error.Message);
    }

    [Fact]
    public void A_second_end_of_one_run_throws()
    {
        var task = InState(RunState.Running);
        task.End();
        Assert.Throws<InvalidOperationException>(() => task.End());
    }

    [Fact]
    public void Redefine_replaces_the_definition_and_the_schedule_in_words_and_keeps_the_run_state()
    {
        var task = InState(RunState.Running);
        Assert.Equal("every tick = 60 s", task.Schedule);
        var updated = task.Definition.WithOptions(new PeriodicTaskOptions { TicksBetweenRuns = 2 });
        task.Redefine(updated, Interval);
        Assert.Same(updated, task.Definition);
        Assert.Equal("every 3 ticks = 180 s", task.Schedule);
        Assert.Equal(RunState.Running, task.State);
    }
}
