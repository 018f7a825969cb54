//! The throw-away PostgreSQL server of the stand-ins crate, for this test binary: a fresh
//! database per test, so tests run in parallel. Without PostgreSQL installed the tests that
//! need it fail, saying so (`scripts/test.sh` installs it).

pub struct Server(&'static competitor_sync_stand_ins::postgres::Server);

impl Server {
    pub fn get() -> Server {
        match competitor_sync_stand_ins::postgres::Server::shared() {
            Ok(server) => Server(server),
            Err(problem) => panic!(
                "the PostgreSQL tests need a local PostgreSQL installation: {problem}. \
                 Install Debian's postgresql package (scripts/test.sh does it)."
            ),
        }
    }

    /// A new, empty database; returns its URL.
    pub async fn fresh_database(&self) -> String {
        let server = self.0;
        tokio::task::spawn_blocking(move || server.fresh_database())
            .await
            .expect("createdb task")
            .unwrap_or_else(|problem| panic!("cannot create a test database: {problem}"))
    }
}
