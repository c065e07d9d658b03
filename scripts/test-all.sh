#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration and doc tests, with all features.
# Installs what the tests need when it is missing, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test-all: installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

cargo nextest run --workspace --all-features --no-fail-fast
# nextest does not run doc tests.
cargo test --workspace --all-features --doc
