//! `examples/tonic/demo.rs` is checked in so the example builds without `protoc`; this
//! test generates it again from `demo.proto` with tonic-prost-build and fails when the two
//! differ, so the checked-in code cannot go stale. `INFLIGHT_WRITE_CODEGEN=1` writes the
//! fresh code over it instead.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Fails with the fix when the `protoc` prost-build runs (`$PROTOC`, else the one on the
/// `PATH`) is missing.
fn protoc() {
    let protoc = std::env::var_os("PROTOC").map_or_else(|| PathBuf::from("protoc"), PathBuf::from);
    let found = Command::new(&protoc)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        found,
        "{} is missing: `apt-get install protobuf-compiler` (or set PROTOC) to check \
         examples/tonic/demo.rs against examples/tonic/demo.proto",
        protoc.display()
    );
}

#[test]
fn the_checked_in_tonic_code_is_what_the_proto_generates() {
    protoc();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tonic");
    let out = tempfile::tempdir().expect("a temp dir");
    tonic_prost_build::configure()
        // The example builds its own `Channel`, so no `connect` helper is needed.
        .build_transport(false)
        .out_dir(out.path())
        .compile_protos(&[dir.join("demo.proto")], std::slice::from_ref(&dir))
        .expect("tonic-prost-build generates code from demo.proto");

    let fresh = std::fs::read_to_string(out.path().join("demo.rs")).expect("generated demo.rs");
    let checked_in_path = dir.join("demo.rs");
    if std::env::var_os("INFLIGHT_WRITE_CODEGEN").is_some() {
        std::fs::write(&checked_in_path, &fresh).expect("write examples/tonic/demo.rs");
    }
    let checked_in = std::fs::read_to_string(&checked_in_path).unwrap_or_default();
    assert!(
        fresh == checked_in,
        "examples/tonic/demo.rs is not what examples/tonic/demo.proto generates; \
         regenerate it with `INFLIGHT_WRITE_CODEGEN=1 cargo test --test tonic_codegen`"
    );
}
