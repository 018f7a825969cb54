//! A throw-away PostgreSQL server for the tests: `initdb` into a temporary directory and
//! started once per test binary, on a free port of the loopback interface; it stops (and
//! its directory goes) when the test binary exits. Each test gets a fresh database, so
//! tests run in parallel. It needs Debian's `postgresql` package (`scripts/test.sh` and
//! `.ci/run` install it); without it the tests that need it fail, saying so.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::Connection;

pub struct Server {
    port: u16,
}

impl Server {
    /// The server of this test binary, started on first use.
    pub fn get() -> &'static Server {
        static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
        match SERVER.get_or_init(start) {
            Ok(server) => server,
            Err(problem) => panic!(
                "the PostgreSQL tests need a local PostgreSQL installation: {problem}. \
                 Install Debian's postgresql package (scripts/test.sh does it)."
            ),
        }
    }

    /// A new, empty database; returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!("test_{}", uuid::Uuid::now_v7().simple());
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to the test server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create a test database");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

fn start() -> Result<Server, String> {
    let bin = bin_dir()?;
    let dir = tempfile::Builder::new()
        .prefix("competitor-sync-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let port = free_port()?;
    // initdb refuses to run as root: run the server as Debian's postgres user then.
    let as_user = if is_root() {
        "setpriv --reuid=postgres --regid=postgres --init-groups --"
    } else {
        ""
    };
    let script = format!(
        r#"set -e
dir='{dir}'; bin='{bin}'
[ -z "{as_user}" ] || chown postgres "$dir"
{as_user} "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1
{as_user} "$bin/postgres" -D "$dir/data" -p {port} -k "$dir" -c listen_addresses=127.0.0.1 \
    -c max_connections=400 -c shared_buffers=64MB >"$dir/server.log" 2>&1 &
server=$!
# Stop the server and remove its files once the test binary has gone.
(while kill -0 {tests} 2>/dev/null; do sleep 1; done; kill -INT $server; sleep 3; rm -rf "$dir") \
    >/dev/null 2>&1 </dev/null &
"#,
        dir = dir.display(),
        bin = bin.display(),
        tests = std::process::id(),
    );
    let status = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .status()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    if !status.success() {
        let log = std::fs::read_to_string(dir.join("initdb.log")).unwrap_or_default();
        return Err(format!("initdb failed: {log}"));
    }
    wait_until_accepting(&bin, port)?;
    Ok(Server { port })
}

/// The newest installed server's binaries (Debian keeps them per major version).
fn bin_dir() -> Result<PathBuf, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "no /usr/lib/postgresql".to_owned())?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_owned())
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn wait_until_accepting(bin: &std::path::Path, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
            .status()
            .is_ok_and(|status| status.success());
        if ready {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "the server did not accept connections on port {port} within 30 s"
    ))
}
