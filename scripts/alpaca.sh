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
if [ ! -x "$venv/bin/pytest" ] || ! "$venv/bin/pip" freeze 2>/dev/null | grep -qxF -f tests/alpaca/requirements.txt; then
    echo "making the alpaca-py test environment in $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/alpaca/requirements.txt
fi
cargo build --quiet --locked -p tradecraft
TRADECRAFT_BIN="$PWD/target/debug/tradecraft" "$venv/bin/python" -m pytest tests/alpaca -q -p no:cacheprovider "$@"
