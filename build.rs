//! Gives the examples (the demo's `/healthz`) the git commit they were built from, when
//! built from a git checkout.

use std::path::Path;
use std::process::Command;

fn main() {
    if !Path::new(".git").exists() {
        return;
    }
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .unwrap_or_default();
    if !commit.is_empty() {
        println!("cargo:rustc-env=GIT_COMMIT={commit}");
    }
}
