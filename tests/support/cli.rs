//! Helpers of the `inflight` CLI tests: the binary as cargo builds it, runs of it with
//! their exit code and output, requests held in flight in the demo, and tmux as a real
//! terminal for `inflight top`.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::Method;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::admin::{Answer, Http};
use super::demo::Demo;
use super::eventually;
use super::tools::require_tmux;

/// How long one run of the CLI may take.
pub const RUN_DEADLINE: Duration = Duration::from_secs(30);

/// How long a test waits for the terminal to show something.
pub const SCREEN_DEADLINE: Duration = Duration::from_secs(15);

/// How long a request of the test's own may stay in flight: longer than the upstream
/// holds it.
pub const HOLD_DEADLINE: Duration = Duration::from_secs(90);

/// The demo's traffic generator keeps this many `/fetch` requests in flight.
pub const TRAFFIC: usize = 6;

/// The demo's options in these tests: requests stay in flight for a minute, and no
/// stuck-request lines on stderr.
pub const HELD: &[&str] = &["--upstream-delay", "60s", "--stuck-after", "off"];

pub use super::build::inflight_binary;

/// Starts the demo with `args`, once the `inflight` binary is built: a first build can
/// take longer than the demo's upstream holds requests in flight.
pub fn start_demo(args: &[&str]) -> Demo {
    inflight_binary();
    Demo::start(args)
}

/// One finished run of `inflight`.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code; fails the test if a signal ended the run.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("inflight was killed by a signal: {self}"))
    }

    /// Checks the exit code and returns the run.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code(), code, "unexpected exit code: {self}");
        self
    }

    /// Checks that the run exited 0 and returns its stdout.
    pub fn ok(&self) -> &str {
        self.expect_code(0);
        &self.stdout
    }

    /// Stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self}"))
    }

    /// Checks that stdout contains `text`.
    pub fn expect_stdout(&self, text: &str) -> &Run {
        assert!(self.stdout.contains(text), "no {text:?} on stdout: {self}");
        self
    }

    /// Checks that stderr contains `text`.
    pub fn expect_stderr(&self, text: &str) -> &Run {
        assert!(self.stderr.contains(text), "no {text:?} on stderr: {self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "inflight {} -> {}\n--- stdout:\n{}--- stderr:\n{}---",
            self.args.join(" "),
            self.status,
            self.stdout,
            self.stderr
        )
    }
}

/// Runs `inflight args`, with no endpoints or token from the environment.
pub fn inflight(args: &[&str]) -> Run {
    inflight_with_env(args, &[])
}

/// Runs `inflight args` with `env` set (and no other `INFLIGHT_*` variables), for at most
/// [`RUN_DEADLINE`].
pub fn inflight_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(inflight_binary());
    command
        .args(args)
        .env_remove("INFLIGHT_ENDPOINTS")
        .env_remove("INFLIGHT_TOKEN")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start inflight");
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + RUN_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for inflight") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("inflight {args:?} still ran after {RUN_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// What the CLI calls a demo: its admin port, `127.0.0.1:PORT`.
pub fn endpoint(demo: &Demo) -> String {
    demo.admin.to_string()
}

/// The `--endpoints` list of `demos`.
pub fn endpoints(demos: &[&Demo]) -> String {
    demos
        .iter()
        .map(|demo| endpoint(demo))
        .collect::<Vec<_>>()
        .join(",")
}

/// The requests `admin` lists now.
pub async fn listed(admin: &Http) -> Vec<Value> {
    admin.get("/requests").await.expect(200)["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The id of the inbound request for `uri` in `requests`, if listed.
pub fn inbound_id(requests: &[Value], uri: &str) -> Option<u64> {
    requests
        .iter()
        .find(|r| r["direction"] == "inbound" && r["uri"] == uri)
        .and_then(|r| r["id"].as_u64())
}

/// Waits until the demo's traffic generator has its `/fetch` requests (and their calls to
/// slownode) in flight; returns what the admin port lists then.
pub async fn wait_for_traffic(demo: &Demo) -> Vec<Value> {
    let admin = demo.admin_client();
    eventually("the demo's traffic to be in flight", || async {
        let requests = listed(&admin).await;
        let fetches = requests
            .iter()
            .filter(|r| {
                r["direction"] == "inbound"
                    && r["uri"].as_str().is_some_and(|u| u.starts_with("/fetch/"))
                    && !r["children"].as_array().is_none_or(Vec::is_empty)
            })
            .count();
        (fetches >= TRAFFIC).then_some(requests)
    })
    .await
}

/// A `GET /fetch/{n}` of the test's own, held in flight by the 60 s upstream.
pub struct HeldRequest {
    /// Its id at the demo's admin port.
    pub id: u64,
    /// The id of its call to slownode.
    pub child: u64,
    /// Its answer, once it ends.
    pub answer: JoinHandle<Answer>,
}

/// Starts `GET /fetch/{n}` on the demo and waits until the admin port lists it with its
/// call to slownode.
pub async fn hold_request(demo: &Demo, n: u64) -> HeldRequest {
    // Waits for the answer longer than the upstream holds it: a test that ends the
    // request early does not depend on how fast the machine is.
    let api = Http::new(demo.api);
    let answer = tokio::spawn(async move {
        api.send_within(
            HOLD_DEADLINE,
            Method::GET,
            &format!("/fetch/{n}"),
            &[],
            Bytes::new(),
        )
        .await
    });
    let admin = demo.admin_client();
    let uri = format!("/fetch/{n}");
    let (id, child) = eventually(&format!("{uri} to be listed"), || async {
        let requests = listed(&admin).await;
        let request = requests
            .iter()
            .find(|r| r["direction"] == "inbound" && r["uri"] == uri.as_str())?;
        let child = request["children"].as_array()?.first()?.as_u64()?;
        Some((request["id"].as_u64()?, child))
    })
    .await;
    HeldRequest { id, child, answer }
}

/// The shell prompt in the terminal, to tell the shell from `inflight top`. The screen
/// as captured has no trailing spaces, so it has none either.
pub const PROMPT: &str = "shell$";

/// A terminal: a tmux server of its own running an interactive shell in one pane of a
/// fixed size. The server is killed when this is dropped.
pub struct Terminal {
    socket: PathBuf,
}

impl Terminal {
    /// Starts a `width` x `height` terminal with a shell and waits for its prompt.
    pub fn start(width: u16, height: u16) -> Terminal {
        require_tmux();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let socket =
            std::env::temp_dir().join(format!("inflight-tmux-{}-{nanos}", std::process::id()));
        let terminal = Terminal { socket };
        terminal.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "test",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "env",
            &format!("PS1={PROMPT} "),
            "bash",
            "--norc",
            "--noprofile",
            "-i",
        ]);
        terminal.tmux(&["set-option", "-t", "test", "status", "off"]);
        terminal.wait_for("the shell prompt", |screen| screen.contains(PROMPT));
        terminal
    }

    /// Runs a tmux command on this terminal's server; returns its stdout.
    pub fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux");
        assert!(
            output.status.success(),
            "tmux {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types `text` as it is, then Enter.
    pub fn type_line(&self, text: &str) {
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    /// Types `text` as it is (no key names).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "test", "-l", text]);
    }

    /// Presses keys by tmux's names: `Enter`, `Escape`, `Up`, `2`, `k`.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "test"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "test"])
    }

    /// The screen with its colors and attributes as ANSI escapes.
    pub fn screen_with_colors(&self) -> String {
        self.tmux(&["capture-pane", "-e", "-p", "-t", "test"])
    }

    /// Polls the screen until `probe` holds, for at most [`SCREEN_DEADLINE`]; returns it.
    pub fn wait_for(&self, what: &str, probe: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SCREEN_DEADLINE;
        loop {
            let screen = self.screen();
            if probe(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "gave up after {SCREEN_DEADLINE:?} waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_file(&self.socket);
    }
}
