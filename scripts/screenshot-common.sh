# What the screenshot scripts of `inflight top` share; sourced by screenshot-top.sh and
# screenshot-tree.sh, which set `name`, `columns` and `rows` first.
#
# screenshot_setup: installs tmux, chromium and the DejaVu fonts from Debian when missing,
#   builds the demo and the CLI in release, and sets `demo`, `inflight`, `work` (a
#   temporary folder), `socket` (tmux's) and `pids` (killed on exit).
# screenshot_take OUTPUT: captures the tmux session `top` with its colors, turns it into
#   HTML (scripts/ansi_to_html.py) and photographs it with headless Chromium.

screenshot_setup() {
  local missing=()
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  fc-list 2>/dev/null | grep -q "DejaVu Sans Mono" || missing+=(fonts-dejavu-core)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "$name: installing ${missing[*]}"
    local root
    root=$([ "$(id -u)" -eq 0 ] || echo sudo)
    $root apt-get update
    $root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi

  cargo build --release --example demo -p inflight
  cargo build --release -p inflight-cli
  local target
  target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  demo=$target/release/examples/demo
  inflight=$target/release/inflight

  work=$(mktemp -d)
  socket=$work/tmux.sock
  pids=()
  trap screenshot_cleanup EXIT
}

screenshot_cleanup() {
  tmux -S "$socket" kill-server 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

screenshot_take() {
  local output=$1 size
  tmux -S "$socket" capture-pane -e -p -N -t top >"$work/top.ansi"
  tmux -S "$socket" capture-pane -p -t top
  python3 scripts/ansi_to_html.py "$columns" "$rows" <"$work/top.ansi" >"$work/top.html"
  size=$(python3 scripts/ansi_to_html.py --window-size "$columns" "$rows")
  mkdir -p "$(dirname "$output")"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/chromium" --hide-scrollbars --force-device-scale-factor=2 \
    --window-size="$size" --screenshot="$output" "file://$work/top.html" 2>"$work/chromium.log" || {
    cat "$work/chromium.log" >&2
    exit 1
  }
  echo "$name: wrote $output"
}
