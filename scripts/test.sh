#!/usr/bin/env bash
# Runs every TradeCraft test on a fresh machine: installs what the tests need, then lints
# and runs the whole workspace's tests with cargo-nextest. The servers tests talk to are
# started (or installed) by scripts/services.sh first: PostgreSQL for the read store,
# Apache Kafka (jars from Maven Central) for the Kafka event log, Redis for the
# multi-process deployment's price cache and pub/sub. The API suite runs twice:
# on the embedded server, and on a multi-process deployment over Kafka and PostgreSQL. The
# web app is built and tested in Chromium (Debian's package) by scripts/web.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed; install Rust (https://rustup.rs) first" >&2
    exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

echo "== services"
source scripts/services.sh
ensure_postgres
ensure_kafka
ensure_redis
ensure_chromium
trap 'stop_kafka; stop_redis' EXIT

for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
        echo "installing the ${component} component"
        rustup component add "$component"
    fi
done

echo "== format"
cargo fmt --all --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== API contract (schemathesis)"
scripts/schemathesis.sh
echo "== tests"
cargo nextest run --workspace --locked --no-fail-fast
echo "== Alpaca-compatible API (alpaca-py from PyPI)"
scripts/alpaca.sh
echo "== web app (build, Vitest, Playwright in Chromium)"
scripts/web.sh test
echo "== API suite on the multi-process deployment (two gateways, engine + standby, projector, ws over Kafka and PostgreSQL)"
TRADECRAFT_TEST_DEPLOYMENT=processes cargo nextest run -p tradecraft --test api --locked --no-fail-fast
