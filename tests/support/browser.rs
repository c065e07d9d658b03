//! The page in a real browser: Debian's Chromium, driven from Node by playwright-core
//! with the scripts in `tests/web` (scripts/test-all.sh installs all three).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::demo::ChildGuard;

/// The folder of the browser scripts.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("web")
}

/// Chromium's path (`CHROMIUM`, else Debian's); fails the test naming the install
/// command when it or the scripts' packages are missing.
pub fn chromium() -> String {
    assert!(
        scripts()
            .join("node_modules")
            .join("playwright-core")
            .is_dir(),
        "tests/web has no node_modules: run `npm ci` there (scripts/test-all.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: `apt-get install chromium chromium-driver` \
         (scripts/test-all.sh does), or set CHROMIUM"
    );
    chromium
}

/// Runs `node script` in `tests/web` with `env` (and `CHROMIUM`), for at most
/// `deadline`; returns what it printed, or fails the test with that and `context()`.
pub fn run(
    script: &str,
    env: &[(&str, String)],
    deadline: Duration,
    context: impl Fn() -> String,
) -> String {
    let mut command = Command::new("node");
    command
        .arg(script)
        .current_dir(scripts())
        .env("CHROMIUM", chromium())
        .stdout(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut node = ChildGuard::spawn(command);
    let stdout = node.stdout_lines();
    let until = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = node.child_mut().try_wait().expect("wait for node") {
            break Some(status);
        }
        if Instant::now() > until {
            break None;
        }
        thread::sleep(Duration::from_millis(100));
    };
    // The pipes close when node exits; give the readers a moment to take the last lines.
    thread::sleep(Duration::from_millis(200));
    let mut output: Vec<String> = stdout.try_iter().collect();
    output.extend(node.stderr());
    let output = output.join("\n");
    match status {
        Some(status) if status.success() => output,
        Some(status) => panic!("{script} failed ({status}):\n{output}\n{}", context()),
        None => panic!(
            "{script} took longer than {deadline:?}:\n{output}\n{}",
            context()
        ),
    }
}
