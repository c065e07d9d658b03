//! Child processes of a test: any program, killed and reaped when dropped, and the demo
//! on loopback ports of its own.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use super::DEADLINE;
use super::admin::Http;
use super::build::demo_binary;

/// A child process killed and reaped when dropped, with its stderr collected line by
/// line.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl ChildGuard {
    /// Spawns `command` with stderr captured (and stdout too unless the caller set it).
    pub fn spawn(mut command: Command) -> ChildGuard {
        command.stdin(Stdio::null()).stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(pipe) = child.stderr.take() {
            let lines = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().expect("stderr lock").push(line);
                }
            });
        }
        ChildGuard { child, stderr }
    }

    /// What the child wrote to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().expect("stderr lock").clone()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The child's stdout line by line, from a thread that keeps draining it. The caller
    /// piped stdout before spawning.
    pub fn stdout_lines(&mut self) -> mpsc::Receiver<String> {
        let stdout = self
            .child
            .stdout
            .take()
            .expect("stdout piped and not taken yet");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Nobody may be listening any more; keep draining.
                let _ = tx.send(line);
            }
        });
        rx
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo running as a child process on loopback ports of its own.
#[derive(Debug)]
pub struct Demo {
    pub process: ChildGuard,
    /// The API server.
    pub api: SocketAddr,
    /// The admin port.
    pub admin: SocketAddr,
}

impl Demo {
    /// Starts the demo with `args` (besides `--listen` and `--admin`) and waits until it
    /// says where it listens.
    pub fn start(args: &[&str]) -> Demo {
        let mut command = Command::new(demo_binary());
        command
            .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped());
        let mut process = ChildGuard::spawn(command);
        let rx = process.stdout_lines();
        let address = |line: &str, label: &str| -> Option<SocketAddr> {
            let rest = line.trim_start().strip_prefix(label)?;
            let url = rest.trim_start().strip_prefix("http://")?;
            url.split_whitespace().next()?.parse().ok()
        };
        let (mut api, mut admin) = (None, None);
        let deadline = Instant::now() + DEADLINE;
        while api.is_none() || admin.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    api = api.or_else(|| address(&line, "api"));
                    admin = admin.or_else(|| address(&line, "admin"));
                }
                Err(_) => panic!(
                    "the demo did not say where it listens; stderr:\n{}",
                    process.stderr().join("\n")
                ),
            }
        }
        Demo {
            process,
            api: api.expect("api address"),
            admin: admin.expect("admin address"),
        }
    }

    /// A client for the demo's API server.
    pub fn api_client(&self) -> Http {
        Http::new(self.api)
    }

    /// A client for the demo's admin port.
    pub fn admin_client(&self) -> Http {
        Http::new(self.admin)
    }
}
