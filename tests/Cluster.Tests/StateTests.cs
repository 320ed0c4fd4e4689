using Akka.TestKit.Xunit2;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>Persistence of each task's place in its schedule with SQLite (Microsoft.Data.Sqlite, a file per test).</summary>
public sealed class SqliteStateTests : TestKit, IDisposable
{
    private readonly StateBackend _backend = StateBackend.Sqlite();

    private StateScenarios Scenarios => new(this, _backend);

    [Fact]
    public Task A_tick_counted_task_keeps_its_counter_across_a_restart() => Scenarios.A_tick_counted_task_keeps_its_counter_across_a_restart();

    [Fact]
    public Task A_spaced_task_continues_its_cadence_after_a_restart_and_run_immediately_applies_only_once() =>
        Scenarios.A_spaced_task_continues_its_cadence_after_a_restart_and_run_immediately_applies_only_once();

    [Fact]
    public Task Due_times_missed_while_stopped_coalesce_into_one_run_counted_as_missed() =>
        Scenarios.Due_times_missed_while_stopped_coalesce_into_one_run_counted_as_missed();

    [Fact]
    public Task With_misfire_skip_due_times_missed_while_stopped_get_no_run_and_are_all_counted_as_missed() =>
        Scenarios.With_misfire_skip_due_times_missed_while_stopped_get_no_run_and_are_all_counted_as_missed();

    [Fact]
    public Task A_run_left_in_flight_by_a_crash_holds_its_task_until_the_run_timeout() =>
        Scenarios.A_run_left_in_flight_by_a_crash_holds_its_task_until_the_run_timeout();

    [Fact]
    public Task A_run_left_in_flight_by_a_process_that_is_gone_does_not_hold_its_task() =>
        Scenarios.A_run_left_in_flight_by_a_process_that_is_gone_holds_its_task_only_if_runs_can_outlive_their_process(runsEndWithProcess: true);

    [Fact]
    public Task A_run_left_in_flight_by_a_process_that_is_gone_holds_its_task_when_runs_can_outlive_their_process() =>
        Scenarios.A_run_left_in_flight_by_a_process_that_is_gone_holds_its_task_only_if_runs_can_outlive_their_process(runsEndWithProcess: false);

    [Fact]
    public Task Counters_and_recent_runs_continue_after_a_restart() => Scenarios.Counters_and_recent_runs_continue_after_a_restart();

    [Fact]
    public Task Ten_thousand_tasks_recover_their_places_from_a_snapshot() =>
        Scenarios.Ten_thousand_tasks_recover_their_places_from_a_snapshot();

    [Fact]
    public Task A_pause_survives_a_restart_and_a_resume_is_kept_too() =>
        Scenarios.A_pause_with_its_note_and_until_survives_a_restart_and_the_task_is_not_run_while_paused_and_a_resume_is_kept_too();

    [Fact]
    public Task A_calendar_task_keeps_its_next_occurrence_and_counts_missed_after_a_restart() =>
        Scenarios.A_calendar_task_keeps_its_next_occurrence_and_due_times_missed_while_stopped_coalesce_counted_as_missed();

    [Fact]
    public Task A_snapshot_replaces_the_journal_events_before_it_and_recovery_starts_from_it() =>
        Scenarios.A_snapshot_replaces_the_journal_events_before_it_and_recovery_starts_from_it();

    [Fact]
    public Task Changes_made_at_run_time_come_back_after_a_restart_except_those_with_a_delegate_body() =>
        Scenarios.Changes_made_at_run_time_come_back_after_a_restart_except_those_with_a_delegate_body();

    [Fact]
    public Task A_change_made_at_run_time_is_dropped_once_the_set_defines_its_task_differently() =>
        Scenarios.A_change_made_at_run_time_is_dropped_once_the_set_defines_its_task_differently();

    void IDisposable.Dispose()
    {
        _backend.Dispose();
        Dispose();
    }
}

/// <summary>The same behaviours against PostgreSQL (Npgsql): run when ACTOR_SCHEDULER_TEST_PG is set (.ci/postgres.sh).</summary>
public sealed class PostgresStateTests : TestKit
{
    private static StateScenarios Scenarios(TestKit kit) => new(kit, StateBackend.Postgres());

    [PostgresFact]
    public Task A_tick_counted_task_keeps_its_counter_across_a_restart() => Scenarios(this).A_tick_counted_task_keeps_its_counter_across_a_restart();

    [PostgresFact]
    public Task A_spaced_task_continues_its_cadence_after_a_restart_and_run_immediately_applies_only_once() =>
        Scenarios(this).A_spaced_task_continues_its_cadence_after_a_restart_and_run_immediately_applies_only_once();

    [PostgresFact]
    public Task Due_times_missed_while_stopped_coalesce_into_one_run_counted_as_missed() =>
        Scenarios(this).Due_times_missed_while_stopped_coalesce_into_one_run_counted_as_missed();

    [PostgresFact]
    public Task A_run_left_in_flight_by_a_crash_holds_its_task_until_the_run_timeout() =>
        Scenarios(this).A_run_left_in_flight_by_a_crash_holds_its_task_until_the_run_timeout();

    [PostgresFact]
    public Task A_run_left_in_flight_by_a_process_that_is_gone_does_not_hold_its_task() =>
        Scenarios(this).A_run_left_in_flight_by_a_process_that_is_gone_holds_its_task_only_if_runs_can_outlive_their_process(runsEndWithProcess: true);

    [PostgresFact]
    public Task Counters_and_recent_runs_continue_after_a_restart() => Scenarios(this).Counters_and_recent_runs_continue_after_a_restart();

    [PostgresFact]
    public Task Ten_thousand_tasks_recover_their_places_from_a_snapshot() =>
        Scenarios(this).Ten_thousand_tasks_recover_their_places_from_a_snapshot();

    [PostgresFact]
    public Task A_pause_survives_a_restart_and_a_resume_is_kept_too() =>
        Scenarios(this).A_pause_with_its_note_and_until_survives_a_restart_and_the_task_is_not_run_while_paused_and_a_resume_is_kept_too();

    [PostgresFact]
    public Task A_calendar_task_keeps_its_next_occurrence_and_counts_missed_after_a_restart() =>
        Scenarios(this).A_calendar_task_keeps_its_next_occurrence_and_due_times_missed_while_stopped_coalesce_counted_as_missed();

    [PostgresFact]
    public Task A_snapshot_replaces_the_journal_events_before_it_and_recovery_starts_from_it() =>
        Scenarios(this).A_snapshot_replaces_the_journal_events_before_it_and_recovery_starts_from_it();

    [PostgresFact]
    public Task Changes_made_at_run_time_come_back_after_a_restart_except_those_with_a_delegate_body() =>
        Scenarios(this).Changes_made_at_run_time_come_back_after_a_restart_except_those_with_a_delegate_body();
}
