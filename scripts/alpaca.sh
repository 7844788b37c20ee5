#!/usr/bin/env bash
# The Alpaca-compatible API held to the real client: the official alpaca-py SDK (pinned,
# from PyPI, in a virtual environment under target/) run by pytest against a TradeCraft
# server on port 0 (tests/alpaca/conftest.py starts it). Makes the environment if missing.
#
#   scripts/alpaca.sh              # build, test
#   scripts/alpaca.sh -k positions # pytest arguments pass through
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${TRADECRAFT_ALPACA_VENV:-target/alpaca-venv}"
source scripts/venv.sh
ensure_venv "$venv" tests/alpaca/requirements.txt
cargo build --quiet --locked -p tradecraft
TRADECRAFT_BIN="$PWD/target/debug/tradecraft" "$venv/bin/python" -m pytest tests/alpaca -q -p no:cacheprovider "$@"
