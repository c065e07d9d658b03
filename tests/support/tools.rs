//! The outside programs tests drive. Tests install nothing: scripts/test-all.sh does, and
//! a test whose program is missing fails naming the command that installs it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Runs `program args` and says whether it ran and exited 0.
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The schemathesis version the tests use (scripts/test-all.sh installs the same).
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// The command that runs schemathesis. Tests install nothing: scripts/test-all.sh does,
/// and without it the test fails saying what to install.
pub fn schemathesis() -> Vec<String> {
    let candidates: [&[&str]; 2] = [&["schemathesis"], &["python3", "-m", "schemathesis.cli"]];
    let command = candidates
        .iter()
        .find(|command| {
            let mut args = command[1..].to_vec();
            args.push("--version");
            runs(command[0], &args)
        })
        .unwrap_or_else(|| {
            panic!(
                "schemathesis is missing: run scripts/test-all.sh, or \
                 `python3 -m pip install schemathesis=={SCHEMATHESIS_VERSION}`"
            )
        });
    command.iter().map(|part| (*part).to_owned()).collect()
}

/// The Prometheus server binary (Debian's `prometheus` package, which
/// scripts/test-all.sh installs).
pub fn prometheus() -> PathBuf {
    let program = ["prometheus", "/usr/bin/prometheus"]
        .into_iter()
        .find(|program| runs(program, &["--version"]))
        .unwrap_or_else(|| {
            panic!(
                "prometheus is missing: run scripts/test-all.sh, or \
                 `apt-get install --no-install-recommends prometheus`"
            )
        });
    PathBuf::from(program)
}

/// Fails the test unless tmux is there (Debian's `tmux`, which scripts/test-all.sh
/// installs).
pub fn require_tmux() {
    assert!(
        runs("tmux", &["-V"]),
        "tmux is missing: run scripts/test-all.sh, or `apt-get install tmux`"
    );
}
