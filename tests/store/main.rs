//! The store's contract: what every backend must guarantee, written once against the
//! `Store` interface and run against each backend (`sqlite::…` and `postgres::…`, the
//! latter on a throw-away server started for this test binary). A new backend adds its
//! module to `contract!` and must pass every test unchanged.

mod accept;
mod audit;
mod backfill;
mod history;
mod limits;
mod locks;
mod oauth;
mod operator;
#[path = "../common/postgres.rs"]
mod postgres_server;
mod queue;
mod support;
mod sweeps;

pub use support::TestStore;

/// Runs each listed test against each backend, as `<backend>::<group>::<test>`.
macro_rules! contract {
    ($($group:ident: [$($test:ident),* $(,)?]),* $(,)?) => {
        contract!(@backend sqlite, $($group: [$($test),*]),*);
        contract!(@backend postgres, $($group: [$($test),*]),*);
    };
    (@backend $backend:ident, $($group:ident: [$($test:ident),*]),*) => {
        mod $backend {
            $(mod $group {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::$group::$test(crate::TestStore::$backend().await).await;
                })*
            })*
        }
    };
}

contract! {
    queue: [
        a_job_is_claimed_once_then_finished,
        batches_are_claimed_oldest_first_and_only_once,
        an_expired_lease_is_taken_over_and_the_stale_worker_cannot_finish,
        a_retry_delays_the_job_and_release_keeps_the_attempt_count,
        an_attempt_that_could_not_run_gives_its_attempt_back,
        a_kept_plan_comes_back_with_the_job_and_a_finish_drops_it,
        jobs_left_running_by_a_dead_process_are_reclaimed_at_start_up,
        jobs_survive_reopening_the_store,
        due_counts_jobs_whose_time_has_come,
        accepting_wakes_a_waiting_worker,
        a_batch_retried_together_is_due_together,
    ],
    accept: [
        deliveries_of_a_queued_or_running_call_join_its_job,
        a_delivery_after_completion_is_a_duplicate_unless_its_inputs_changed,
        a_known_webhook_id_marks_a_duplicate_only_of_the_same_payload,
        a_full_queue_refuses_new_jobs_but_not_joins,
        jobs_another_process_queued_count_toward_the_bound_once_recounted,
        concurrent_deliveries_of_one_call_make_one_job,
        new_inputs_drop_a_kept_plan,
    ],
    audit: [
        record_outcomes_and_writes_are_kept_per_job,
        rows_created_keep_their_ids_with_or_without_an_outcome,
        a_batch_reads_its_earlier_outcomes_at_once,
    ],
    operator: [
        a_dead_job_is_retried_with_fresh_attempts_keeping_records_already_written,
        every_dead_job_can_be_queued_again_at_once,
        old_finished_jobs_are_purged_with_their_history_and_live_ones_kept,
        lists_filter_by_status_and_call,
    ],
    backfill: [
        pages_commit_their_jobs_with_the_cursor,
        a_call_finished_only_as_a_dry_run_is_queued_again,
    ],
    limits: [
        processes_on_one_store_share_the_spacing,
        the_daily_limit_counts_every_process_and_a_hold_delays_the_next_slot,
        a_pause_is_seen_by_every_process_until_it_ends,
    ],
    locks: [
        a_record_is_locked_by_one_holder_at_a_time,
        locks_are_all_or_nothing,
        an_expired_lock_is_taken_over,
    ],
    oauth: [a_rotated_token_is_used_only_while_its_origin_is_configured],
    history: [
        attempts_and_deliveries_are_kept_per_job,
        a_records_writes_are_listed_newest_first_with_their_call,
        jobs_are_found_by_filter_and_the_dead_ones_replayed,
        a_waiting_job_is_made_due_now_and_others_are_not_touched,
    ],
    sweeps: [
        one_process_sweeps_per_interval,
        a_sweeper_that_died_is_taken_over_after_its_lease,
        only_calls_without_a_job_are_queued,
        a_webhook_after_the_sweep_makes_no_second_job,
        todays_requests_are_counted,
        only_webhook_work_waiting_for_a_worker_holds_the_sweep_back,
    ],
}
