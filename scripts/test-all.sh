#!/usr/bin/env bash
# The single test command: formatting, lints, and every test of the workspace (including the replay
# of the fuzz seed corpora). CI runs exactly this (.ci/run). Needs only the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    rustup component add "${component}"
  fi
done

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> cargo test"
cargo test --workspace --locked
