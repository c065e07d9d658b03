#!/usr/bin/env bash
# Runs every test of the workspace: unit, integration and doc tests, with all features.
# Installs what the tests need when it is missing, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test-all: installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

# The web page's browser tests (tests/web_page.rs, tests/cli_web.rs): Debian's Chromium,
# driven from Node by playwright-core (never a browser download of its own).
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
  || ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "test-all: installing chromium, chromium-driver and node"
  as_root apt-get update
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || node_packages="nodejs npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver ${node_packages:-}
fi
if ! (cd tests/web && npm ls --depth=0 >/dev/null 2>&1); then
  echo "test-all: installing the browser test's packages (npm ci in tests/web)"
  (cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

# `inflight top` runs in a real terminal in tests/cli_top.rs: Debian's tmux.
if ! command -v tmux >/dev/null 2>&1; then
  echo "test-all: installing tmux"
  root=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $root apt-get update
  $root env DEBIAN_FRONTEND=noninteractive apt-get install -y tmux
fi

# HTTP/2 under load (tests/http2.rs): h2load, from Debian's nghttp2-client.
if ! command -v h2load >/dev/null 2>&1; then
  echo "test-all: installing nghttp2-client (h2load)"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nghttp2-client
fi

# tonic's code generator needs protoc (tests/tonic_codegen.rs): Debian's protobuf-compiler.
if ! command -v protoc >/dev/null 2>&1; then
  echo "test-all: installing protobuf-compiler (protoc)"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends protobuf-compiler
fi

# The admin-port tests scrape the demo with a real Prometheus (tests/admin_prometheus.rs,
# Debian's package; tests/cli_fleet.rs finds admin ports through its targets API) and
# fuzz its API with schemathesis (tests/admin_schemathesis.rs, from PyPI, the version
# tests/support/tools.rs names).
if ! command -v prometheus >/dev/null 2>&1; then
  echo "test-all: installing prometheus"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
  # Only the tests' own Prometheus runs, on loopback: not the package's service.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now prometheus || true
  fi
fi
schemathesis_version=4.32.5
if ! python3 -m pip show schemathesis 2>/dev/null | grep -qx "Version: $schemathesis_version"; then
  echo "test-all: installing schemathesis $schemathesis_version"
  python3 -m pip install --quiet "schemathesis==$schemathesis_version"
fi

# The soak (tests/soak.rs) runs a million requests: memory stays flat over them.
INFLIGHT_SOAK_REQUESTS=1000000 cargo nextest run --workspace --all-features --no-fail-fast
# The admin crate without features: the 501 of its feature-gated endpoints.
cargo test -p inflight-admin --lib
# nextest does not run doc tests.
cargo test --workspace --all-features --doc

# The table's threads in every interleaving (crates/inflight-core/src/table/loom/). Its own
# target directory: --cfg loom reaches every crate, and would rebuild the one above.
RUSTFLAGS="--cfg loom" cargo test -p inflight-core --release --lib --target-dir target/loom -- loom

# tokio's task dumps (tests/admin_tasks.rs): they exist only with --cfg tokio_unstable and
# the `taskdump` feature, so this build has its own target directory, like the loom run.
# CARGO_TARGET_DIR (not --target-dir) so that the demo and the `inflight` command the test
# builds land there too.
RUSTFLAGS="--cfg tokio_unstable" CARGO_TARGET_DIR=target/taskdump \
  cargo nextest run -p inflight --all-features --test admin_tasks
