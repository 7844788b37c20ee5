#!/usr/bin/env bash
# Runs TradeCraft on the embedded default (file log and SQLite in ./data), web app
# included, on a fresh clone: builds the web app (npm, from the lock file) and the server
# (release), then serves both at http://127.0.0.1:8080/. Flags go to `tradecraft serve`.
#
#   scripts/run.sh
#   scripts/run.sh --address 0.0.0.0:8080 --admin-key "$(openssl rand -hex 24)"
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/web.sh build
exec cargo run --release --locked -p tradecraft -- serve --web-dir web/dist "$@"
