//! Builds the workspace's programs that tests run as child processes: the demo and the
//! `inflight` command. Each is built once per test binary, with the features the test was
//! built with (so the build reuses what the test build compiled), and found where cargo
//! says it put it (so a configured target dir is honoured).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// Runs `cargo build ARGS --message-format=json-render-diagnostics` in the workspace and
/// returns the executable cargo reports for the target named `name`.
pub fn cargo_build(args: &[&str], name: &str) -> PathBuf {
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("build")
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|error| panic!("run cargo build for {name}: {error}"));
    assert!(output.status.success(), "cargo build for {name} failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == name
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo named no executable for {name}"))
}

/// The demo example.
pub fn demo_binary() -> &'static Path {
    static DEMO: OnceLock<PathBuf> = OnceLock::new();
    DEMO.get_or_init(|| {
        let features: Vec<&str> = [
            ("signal", cfg!(feature = "signal")),
            ("admin", cfg!(feature = "admin")),
            ("metrics", cfg!(feature = "metrics")),
            ("tracing", cfg!(feature = "tracing")),
            ("axum", cfg!(feature = "axum")),
            ("taskdump", cfg!(feature = "taskdump")),
        ]
        .into_iter()
        .filter_map(|(feature, on)| on.then_some(feature))
        .collect();
        let features = features.join(",");
        cargo_build(
            &[
                "--example",
                "demo",
                "--no-default-features",
                "--features",
                &features,
            ],
            "demo",
        )
    })
}

/// The `inflight` command.
pub fn inflight_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| cargo_build(&["-p", "inflight-cli", "--bin", "inflight"], "inflight"))
}
