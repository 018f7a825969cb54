//! A throw-away PostgreSQL server, the real one from the distribution's packages (Debian's
//! `postgresql`), for the service's tests and the benchmark: `initdb` into a temporary
//! directory and started on a free loopback port, once per process that asks; it stops and
//! its directory goes when that process exits. Each user gets a fresh database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Server {
    port: u16,
    bin: PathBuf,
}

impl Server {
    /// This process's server, started on first use; why it could not be started otherwise.
    pub fn shared() -> Result<&'static Server, String> {
        static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
        SERVER.get_or_init(start).as_ref().map_err(Clone::clone)
    }

    /// A new, empty database; returns its URL.
    pub fn fresh_database(&self) -> Result<String, String> {
        let name = format!("db_{}", uuid::Uuid::now_v7().simple());
        let output = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(&name)
            .output()
            .map_err(|e| format!("cannot run createdb: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "createdb failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(format!(
            "postgres://postgres@127.0.0.1:{}/{name}",
            self.port
        ))
    }

    /// Runs one SQL statement on `database` with `psql`; its output, unaligned.
    pub fn query(&self, database: &str, sql: &str) -> Result<String, String> {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", database, "-At", "-c", sql])
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

fn start() -> Result<Server, String> {
    let bin = bin_dir()?;
    let dir = std::env::temp_dir().join(format!("competitor-sync-pg-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port = free_port()?;
    // initdb refuses to run as root: the server then runs as Debian's postgres user.
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
# Stop the server and remove its files once the process that asked for it has gone.
(while kill -0 {owner} 2>/dev/null; do sleep 1; done; kill -INT $server; sleep 3; rm -rf "$dir") \
    >/dev/null 2>&1 </dev/null &
"#,
        dir = dir.display(),
        bin = bin.display(),
        owner = std::process::id(),
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
    Ok(Server { port, bin })
}

/// The newest installed server's binaries (Debian keeps them per major version).
fn bin_dir() -> Result<PathBuf, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "no /usr/lib/postgresql (is the postgresql package installed?)".to_owned())?
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

fn wait_until_accepting(bin: &Path, port: u16) -> Result<(), String> {
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
