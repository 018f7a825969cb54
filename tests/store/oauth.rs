//! Rotated OAuth tokens.

use crate::support::*;

pub async fn a_rotated_token_is_used_only_while_its_origin_is_configured(t: TestStore) {
    let store = &t.store;
    let name = "salesforce.refresh_token";
    assert_eq!(
        store
            .rotated_token(name, "configured-1")
            .await
            .expect("read"),
        None
    );
    store
        .save_rotated_token(name, "configured-1", "rotated-2")
        .await
        .expect("save");
    let other_process = t.open_again().await;
    assert_eq!(
        other_process
            .rotated_token(name, "configured-1")
            .await
            .expect("read")
            .as_deref(),
        Some("rotated-2")
    );
    assert_eq!(
        store
            .rotated_token(name, "configured-new")
            .await
            .expect("read"),
        None
    );
}
