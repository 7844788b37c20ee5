#!/usr/bin/env bash
# Sourced by the test scripts: ensure_venv DIR REQUIREMENTS makes (or remakes) a Python
# virtual environment in DIR holding exactly the pinned packages of REQUIREMENTS (PyPI).
ensure_venv() {
    local venv="$1" requirements="$2"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/pip" freeze 2>/dev/null | grep -qxF -f "$requirements"; then
        echo "making the Python test environment in $venv ($requirements)"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    fi
}
