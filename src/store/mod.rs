//! The durable store behind one interface: every accepted webhook as a job, its attempts and
//! outcome, the audit trail of what was written, and the state every process using the
//! store shares (record locks, the Gong allowance, the Salesforce pause, OAuth tokens).
//!
//! [`Store`] is an enum over backends, chosen by the scheme of `store.url`; each backend
//! lives in its own folder and is the only code that knows its SQL. The operations are
//! grouped by concern, one file each:
//!
//! - [`queue`]: accept a delivery (dedupe and bound), enqueue, claim due jobs with a lease,
//!   end attempts, release, reclaim orphans, and the wake-ups of idle workers;
//! - [`locks`]: one writer per CRM record at a time, across processes;
//! - [`audit`]: each record's outcome and the values written, read for a batch at once;
//! - [`operator`]: what operators read and do (lists, one job, replay, purge, counts);
//! - [`backfill`]: a date range's progress, committed page by page with its jobs;
//! - [`limits`]: the Gong allowance and pauses, on the store's clock;
//! - [`oauth`]: a rotated Salesforce refresh token;
//! - [`sweeps`]: the catch-up sweep: one sweeper at a time, its last run, the calls it queues;
//! - [`history`]: each job's attempts and deliveries, each record's writes, jobs by filter.
//!
//! What every backend guarantees is checked by one contract suite (`tests/store`), run
//! against each; `docs/architecture.md` lists it.

mod audit;
mod backfill;
mod history;
mod job_rows;
mod limits;
mod locks;
mod oauth;
mod operator;
mod pending;
mod postgres;
mod queue;
mod report;
mod sqlite;
mod sweeps;
mod types;
mod url;

pub use crate::shared::{ActivePause, Slot};
pub use backfill::{BackfillProgress, ListedCall, Page, PageEnqueued};
pub use history::{Attempt, DeliveryRecord, HourOutcomes, JobFilter, RecordWrite};
pub use locks::RecordKey;
pub use queue::Due;
pub use report::{rfc3339, JobDetail, JobView};
pub use sweeps::SweepStatus;
pub use types::{
    Delivery, Disposition as DeliveryDisposition, Ending, FieldWrite, Job, JobOrigin, JobReport,
    JobStatus, KeptPlan, NewJob, QueueDepth, Resolution, Target, TargetStatus,
};
pub use url::{is_postgres_url, is_sqlite_url, unsupported_scheme};

use crate::retry::{Classify, Disposition};
use postgres::PgStore;
use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Never shows the URL: it may carry a password.
    #[error(
        "store.url is not a store this service can open (expected sqlite://PATH, e.g. \
         sqlite://data/competitor-sync.db, or postgres://USER@HOST/DATABASE): {problem}"
    )]
    BadUrl { problem: String },
    #[error("could not create the store's directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not migrate the store's schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored job {id} is unreadable: {problem}")]
    Corrupt { id: String, problem: String },
    #[error("the queue holds its maximum of {limit} jobs (store.max_queued)")]
    QueueFull { limit: u64 },
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("the store is closed")]
    Closed,
    #[error("the store cannot commit: {0}")]
    CannotCommit(String),
}

impl Classify for StoreError {
    fn disposition(&self) -> Disposition {
        match self {
            // A busy or briefly unavailable database recovers; the job is tried again.
            Self::Database(_) | Self::Unavailable(_) | Self::CannotCommit(_) => {
                Disposition::Retry { after: None }
            }
            _ => Disposition::Permanent,
        }
    }
}

impl StoreError {
    /// A failure of the database itself (disk full, I/O, locked out), as opposed to a refusal
    /// such as a full queue: the write did not happen, and later ones may fail alike.
    fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            Self::Database(_) | Self::Unavailable(_) | Self::CannotCommit(_)
        )
    }
}

/// The store, whichever backend holds it. Cloning is cheap and shares the connections.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// How to open a store, beyond its URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// PostgreSQL: wake other replicas' workers with `LISTEN`/`NOTIFY` (off behind a pooler
    /// in transaction mode, where `LISTEN` does not work; polling remains).
    pub notify: bool,
    /// PostgreSQL: connections this process opens at most.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            notify: true,
            max_connections: 10,
        }
    }
}

/// The password in a URL's user information (`scheme://user:password@host/...`), if any.
fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?;
    let (user_info, _) = authority.rsplit_once('@')?;
    let (_, password) = user_info.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// Defines `Store` methods that hand the call to the backend, keeping each operation's
/// signature and documentation in one place: the interface.
macro_rules! delegate {
    ($(
        $(#[$meta:meta])*
        pub async fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
    )*) => {
        $(
            $(#[$meta])*
            pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                match self {
                    Self::Sqlite(backend) => backend.$name($($arg),*).await,
                    Self::Postgres(backend) => backend.$name($($arg),*).await,
                }
            }
        )*
    };
}
use delegate;

impl Store {
    /// Opens the store named by `url` (creating a SQLite file and its directory if missing)
    /// and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with options.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        if is_sqlite_url(url) {
            return Ok(Self::Sqlite(SqliteStore::connect(url).await?));
        }
        if is_postgres_url(url) {
            return Ok(Self::Postgres(PgStore::connect(url, options).await?));
        }
        Err(StoreError::BadUrl {
            problem: unsupported_scheme(url),
        })
    }

    delegate! {
        /// Bounds the queue: beyond `limit` waiting or running jobs (of every process), new
        /// webhooks are refused with [`StoreError::QueueFull`]. The queue is counted now, and
        /// jobs other processes queue count within 15 seconds.
        pub async fn bound_queue(&self, limit: u64) -> Result<(), StoreError>;
        /// Ready to take webhooks: the store answers and can commit. After a failed write (a
        /// full disk) this tries a real commit, so it turns ready again by itself.
        pub async fn readiness(&self) -> Result<(), StoreError>;
        /// Proves the store takes a commit (permissions, disk, locks), touching only the
        /// probe's own row.
        pub async fn probe_commit(&self) -> Result<(), StoreError>;
        pub async fn close(&self) -> ();
    }
}
