#!/usr/bin/env bash
# Builds and tests the web app (web/): installs its npm packages from the lock file when
# they are missing or stale, type-checks and builds it (printing the gzipped bundle size,
# failing over the 350 KB budget), runs the unit tests (Vitest), then the end-to-end tests
# (Playwright driving Debian's Chromium against a real server on port 0; they write the
# README's screenshots to docs/screenshots/).
#
#   scripts/web.sh build    # npm ci (if needed) + build: what `serve` needs at /
#   scripts/web.sh test     # build, unit tests, end-to-end tests
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm is not installed; install Node.js 20 or later first" >&2
    exit 1
fi

# Installs exactly the lock file's packages; again only when the lock file changed. No
# browser download: the tests use the system's Chromium.
stamp="node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    echo "installing the web app's npm packages (npm ci)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

echo "building the web app"
npm run --silent build

if [ "${1:-build}" = "test" ]; then
    echo "web unit tests (Vitest)"
    npx vitest run
    echo "web end-to-end tests (Playwright, Chromium at ${CHROMIUM_PATH:-/usr/bin/chromium})"
    (cd .. && cargo build --quiet --locked -p tradecraft)
    TRADECRAFT_BIN="$(cd .. && pwd)/target/debug/tradecraft" npx playwright test
fi
