//! Binaries run as child processes, as an operator runs them: everything they print is kept,
//! and they are killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::{eventually, WAIT};

/// After the process exits, how long its last lines get to reach the output.
const DRAIN: Duration = Duration::from_secs(2);

pub struct ChildProcess {
    pub child: Child,
    output: Arc<Mutex<String>>,
}

impl ChildProcess {
    /// Starts `command` with stdout and stderr captured (and no `RUST_LOG` from the tests'
    /// environment).
    pub fn start(command: &mut Command) -> Self {
        let mut child = command
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let output = Arc::new(Mutex::new(String::new()));
        let streams: Vec<Box<dyn std::io::Read + Send>> = vec![
            Box::new(child.stdout.take().expect("stdout piped")),
            Box::new(child.stderr.take().expect("stderr piped")),
        ];
        for stream in streams {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut text = output.lock().expect("lock");
                    text.push_str(&line);
                    text.push('\n');
                }
            });
        }
        Self { child, output }
    }

    /// Everything printed so far, stdout and stderr interleaved by line.
    pub fn output(&self) -> String {
        self.output.lock().expect("lock").clone()
    }

    /// The first value `find` extracts from the output, waiting for it up to 30 seconds, or
    /// shortly after the process exits without printing it.
    pub async fn wait_for<T>(&mut self, what: &str, find: impl Fn(&str) -> Option<T>) -> T {
        let mut exited: Option<(Instant, std::process::ExitStatus)> = None;
        eventually(what, WAIT, || {
            let output = self.output();
            if let Some(found) = find(&output) {
                return std::future::ready(Ok(found));
            }
            if exited.is_none() {
                if let Ok(Some(status)) = self.child.try_wait() {
                    exited = Some((Instant::now(), status));
                }
            }
            if let Some((at, status)) = exited {
                assert!(
                    at.elapsed() < DRAIN,
                    "exited ({status}) before {what}; output:\n{output}"
                );
            }
            std::future::ready(Err(format!("output so far:\n{output}")))
        })
        .await
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
