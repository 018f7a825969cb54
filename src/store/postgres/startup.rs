//! The first connection at start-up. A replica often starts beside its database (compose,
//! a Kubernetes rollout) and finds it not yet reachable: rather than give up after the
//! pool's acquire timeout with sqlx's "pool timed out", which names no cause, it waits a
//! while for the server, logging why each try failed, and fails with that cause.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;
use tokio::time::Instant;

use crate::store::StoreError;

/// How long a start waits for an unreachable server.
pub(super) const START_WAIT: Duration = Duration::from_secs(30);
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(4);

/// Returns once one connection to the server succeeds. A server that cannot be reached or
/// is starting up is tried again until `wait` has passed; a refusal (a wrong password, no
/// such database) fails at once, with the server's reason.
pub(super) async fn wait_for_server(
    options: &PgConnectOptions,
    wait: Duration,
) -> Result<(), StoreError> {
    let deadline = Instant::now() + wait;
    let mut pause = FIRST_PAUSE;
    let server = format!("{}:{}", options.get_host(), options.get_port());
    loop {
        // A try that hangs (a name lookup that gets no answer) ends at the deadline too.
        let left = deadline.saturating_duration_since(Instant::now());
        let error = match tokio::time::timeout(left, PgConnection::connect_with(options)).await {
            Ok(Ok(connection)) => {
                // Only a test of the way in: the pool opens its own connections.
                let _ = connection.close().await;
                return Ok(());
            }
            Ok(Err(error)) if !passes(&error) => return Err(StoreError::Database(error)),
            Ok(Err(error)) => error.to_string(),
            Err(_elapsed) => "no answer to the connection attempt".to_owned(),
        };
        if Instant::now() + pause > deadline {
            return Err(StoreError::Unavailable(format!(
                "PostgreSQL at {server} did not answer within {wait:?}: {error}"
            )));
        }
        tracing::warn!(%server, %error, "PostgreSQL does not answer yet; trying again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// Whether the failure is one that passes by itself: the server unreachable (not yet up,
/// its name not yet in DNS), starting up or shutting down, or out of connections.
fn passes(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(error) => matches!(
            error.code().as_deref(),
            // cannot_connect_now, admin_shutdown, too_many_connections
            Some("57P03" | "57P01" | "53300")
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[tokio::test]
    async fn a_server_that_never_answers_fails_after_the_wait_naming_it_and_the_cause() {
        // A port of this machine's loopback where nothing listens: refused at once.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        drop(listener);
        let options = PgConnectOptions::from_str(&format!(
            "postgres://user:secret-password@127.0.0.1:{port}/db"
        ))
        .expect("a URL");
        let started = std::time::Instant::now();
        let error = wait_for_server(&options, Duration::from_millis(600))
            .await
            .expect_err("nothing listens");
        let text = error.to_string();
        assert!(
            text.contains(&format!(
                "PostgreSQL at 127.0.0.1:{port} did not answer within"
            )),
            "{text}"
        );
        assert!(text.to_lowercase().contains("refused"), "{text}");
        assert!(!text.contains("secret-password"), "{text}");
        // It tried more than once: the first pause is 250 ms, within the 600 ms wait.
        assert!(started.elapsed() >= FIRST_PAUSE, "{:?}", started.elapsed());
    }
}
