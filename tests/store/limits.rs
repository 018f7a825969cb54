//! The Gong allowance and pauses, shared by every process on one clock.

use std::time::Duration;

use competitor_sync::store::{Slot, Store};

use crate::support::*;

async fn wait(store: &Store, spacing: Duration, daily_limit: u32) -> Duration {
    match store
        .reserve_request("gong", spacing, daily_limit)
        .await
        .expect("slot")
    {
        Slot::In(wait) => wait,
        Slot::DayUsedUp { .. } => panic!("allowance used up"),
    }
}

pub async fn processes_on_one_store_share_the_spacing(t: TestStore) {
    let service = &t.store;
    let backfill = t.open_again().await;
    let spacing = Duration::from_millis(340);
    let first = wait(service, spacing, 100).await;
    let second = wait(&backfill, spacing, 100).await;
    let third = wait(service, spacing, 100).await;
    // Each slot is a spacing after the last, whoever took it (a little less has passed).
    assert!(
        second >= first + Duration::from_millis(300),
        "{first:?} {second:?}"
    );
    assert!(
        third >= second + Duration::from_millis(300),
        "{second:?} {third:?}"
    );
}

pub async fn the_daily_limit_counts_every_process_and_a_hold_delays_the_next_slot(t: TestStore) {
    let service = &t.store;
    let backfill = t.open_again().await;
    let spacing = Duration::from_millis(1);
    wait(service, spacing, 2).await;
    wait(&backfill, spacing, 2).await;
    let third = service
        .reserve_request("gong", spacing, 2)
        .await
        .expect("slot");
    assert!(
        matches!(third, Slot::DayUsedUp { for_ } if for_ > Duration::ZERO && for_ <= Duration::from_secs(86_400)),
        "{third:?}"
    );

    backfill
        .hold_requests("gong", Duration::from_secs(5))
        .await
        .expect("hold");
    let held = service.requests_held_for("gong").await.expect("held");
    assert!(held.is_some_and(|h| h > Duration::from_secs(4)), "{held:?}");
    let next = wait(service, spacing, 100).await;
    assert!(next >= Duration::from_millis(4_900), "{next:?}");
}

pub async fn a_pause_is_seen_by_every_process_until_it_ends(t: TestStore) {
    let service = &t.store;
    let other_process = t.open_again().await;
    assert_eq!(
        service.active_pause("salesforce").await.expect("read"),
        None
    );
    // Long enough that a loaded machine still reads it while it lasts (300 ms once ran out
    // between the write and the read on CI).
    let length = Duration::from_secs(2);
    other_process
        .start_pause("salesforce", length, "REQUEST_LIMIT_EXCEEDED")
        .await
        .expect("pause");
    let pause = service
        .active_pause("salesforce")
        .await
        .expect("read")
        .expect("paused");
    assert_eq!(pause.reason, "REQUEST_LIMIT_EXCEEDED");
    assert!(pause.remaining <= length);
    tokio::time::sleep(length + Duration::from_millis(50)).await;
    assert_eq!(
        service.active_pause("salesforce").await.expect("read"),
        None
    );
}
