//! Opening the store at start-up. A replica often starts beside its database (compose, a
//! Kubernetes rollout) and finds it not yet reachable, or reachable for one connection and
//! not the next: podman's DNS server drops lookups while it reloads as containers join its
//! network, which stalls a new connection for seconds. Rather than exit with sqlx's "pool
//! timed out", which names no cause, a start keeps trying for a while, logging why each try
//! failed, and fails with that cause.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;
use tokio::time::Instant;

use crate::store::StoreError;

/// How long a start keeps trying a server it cannot reach.
const START_WAIT: Duration = Duration::from_secs(30);
/// How long a query waits for a connection of the pool, opening one included.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections the pool keeps open, idle or not, within `store.max_connections`: start-up's
/// own steps (`LISTEN`, the accept writer, the first counts) and the first jobs find one
/// ready instead of each opening one when name lookups may stall.
const KEEP_OPEN: u32 = 4;
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(4);

/// How long start-up waits; shorter in tests.
#[derive(Debug, Clone, Copy)]
pub(super) struct Patience {
    pub start_wait: Duration,
    pub acquire_timeout: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            start_wait: START_WAIT,
            acquire_timeout: ACQUIRE_TIMEOUT,
        }
    }
}

/// The pool, its schema up to date. Migrations take an advisory lock, so replicas starting
/// together apply them once. A failure that passes by itself (see [`passes`]) is tried
/// again until `patience.start_wait` is over; a refusal (a wrong password, no such
/// database) fails at once, with the server's reason.
pub(super) async fn open_pool(
    options: &PgConnectOptions,
    max_connections: u32,
    patience: Patience,
) -> Result<PgPool, StoreError> {
    let deadline = Instant::now() + patience.start_wait;
    loop {
        wait_for_server(options, deadline, patience.start_wait).await?;
        let failure = match open_once(options, max_connections, patience.acquire_timeout).await {
            Ok(pool) => return Ok(pool),
            Err(failure) => failure,
        };
        let Some(error) = passing_cause(&failure) else {
            return Err(failure);
        };
        if Instant::now() + FIRST_PAUSE > deadline {
            return Err(gave_up(options, patience.start_wait, error));
        }
        tracing::warn!(%error, "PostgreSQL stopped answering while the store opened; trying again");
        tokio::time::sleep(FIRST_PAUSE).await;
    }
}

async fn open_once(
    options: &PgConnectOptions,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(KEEP_OPEN.min(max_connections))
        .acquire_timeout(acquire_timeout)
        .connect_with(options.clone())
        .await?;
    if let Err(error) = sqlx::migrate!("./migrations/postgres").run(&pool).await {
        pool.close().await;
        return Err(error.into());
    }
    Ok(pool)
}

/// Returns once one connection to the server succeeds, trying again while the failure
/// passes by itself, until `deadline`.
async fn wait_for_server(
    options: &PgConnectOptions,
    deadline: Instant,
    wait: Duration,
) -> Result<(), StoreError> {
    let mut pause = FIRST_PAUSE;
    let server = server_name(options);
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
            return Err(gave_up(options, wait, &error));
        }
        tracing::warn!(%server, %error, "PostgreSQL does not answer yet; trying again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

fn server_name(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

fn gave_up(
    options: &PgConnectOptions,
    wait: Duration,
    cause: &dyn std::fmt::Display,
) -> StoreError {
    StoreError::Unavailable(format!(
        "PostgreSQL at {} did not answer within {wait:?}: {cause}",
        server_name(options)
    ))
}

/// The cause, when opening the pool or migrating failed in a way that passes by itself.
fn passing_cause(failure: &StoreError) -> Option<&sqlx::Error> {
    match failure {
        StoreError::Database(error)
        | StoreError::Migrate(sqlx::migrate::MigrateError::Execute(error)) => {
            passes(error).then_some(error)
        }
        _ => None,
    }
}

/// Whether the failure is one that passes by itself: the server unreachable (not yet up,
/// its name not yet in DNS), a new connection not opened in time (a stalled lookup),
/// starting up or shutting down, or out of connections.
fn passes(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
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
    use std::net::SocketAddr;
    use std::str::FromStr;

    use tokio::net::{TcpListener, TcpStream};

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
        let patience = Patience {
            start_wait: Duration::from_millis(600),
            acquire_timeout: Duration::from_millis(300),
        };
        let error = open_pool(&options, 10, patience)
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

    #[tokio::test]
    async fn a_start_rides_out_new_connections_stalling_after_the_first_one() {
        let server = competitor_sync_stand_ins::postgres::Server::shared().unwrap_or_else(|problem| {
            panic!("this test needs a local PostgreSQL installation (scripts/test.sh installs it): {problem}")
        });
        let url = tokio::task::spawn_blocking(move || server.fresh_database())
            .await
            .expect("createdb task")
            .expect("a fresh database");
        let direct = PgConnectOptions::from_str(&url).expect("the server's URL");
        let stall = Duration::from_secs(3);
        let proxy = stalling_way_in(&direct, stall).await;
        let options = direct.clone().port(proxy.port());
        let patience = Patience {
            start_wait: Duration::from_secs(30),
            // Long enough for a loaded machine to open the pool's connections once the
            // stall is over, well short of the stall.
            acquire_timeout: Duration::from_secs(1),
        };
        let started = std::time::Instant::now();
        let pool = open_pool(&options, 10, patience)
            .await
            .expect("the start waits the stall out");
        assert!(started.elapsed() >= stall, "{:?}", started.elapsed());
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'jobs'",
        )
        .fetch_one(&pool)
        .await
        .expect("a query through the pool");
        assert_eq!(tables, 1, "the schema was migrated");
        assert!(pool.size() >= KEEP_OPEN, "open: {}", pool.size());
    }

    /// A way to the server, on a port of its own, as a network whose name lookups stall
    /// while its DNS server reloads: the first connection passes; the next ones hang for
    /// `stall` without an answer, and only then reach the server, as do all after them.
    async fn stalling_way_in(server: &PgConnectOptions, stall: Duration) -> SocketAddr {
        let target = SocketAddr::from(([127, 0, 0, 1], server.get_port()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("its address");
        tokio::spawn(async move {
            let mut stall_ends = None;
            while let Ok((mut client, _)) = listener.accept().await {
                let hold_until = match stall_ends {
                    None => {
                        stall_ends = Some(Instant::now() + stall);
                        Instant::now()
                    }
                    Some(ends) => ends,
                };
                tokio::spawn(async move {
                    tokio::time::sleep_until(hold_until).await;
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        address
    }
}
