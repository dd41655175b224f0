#!/usr/bin/env bash
# Install what the tests need and run them: the README's test command, and CI's.
# Debian's chromium for the browser tests (Playwright drives it; it never downloads a
# browser of its own), Node and the JS SDK for the JS test, then the package with its test extra, then pytest (any
# arguments go to pytest, e.g. `bash scripts/test.sh tests/unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium
fi
# Node >= 20 and the JS SDK pinned in tests/js/package-lock.json, for tests/test_js_sdk.py (which fails,
# saying so, without them): `npm ci` installs exactly the locked versions from the npm registry.
if ! command -v npm >/dev/null; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq nodejs npm
fi
(cd tests/js && npm ci --no-audit --no-fund --silent)
# The package with its test extra (CI installs it, with more, before and says so: HITL_TEST_INSTALLED=1).
if [ "${HITL_TEST_INSTALLED:-0}" != 1 ]; then
  python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'
fi
# Test files run side by side in HITL_TEST_WORKERS processes (default 4; 0 runs them all in this one),
# each file whole in one process, and each process with its own dev server (tests/conftest.py). Most of
# the suite waits on servers, timers and subprocesses, so more processes than cores pays. Files go out
# in collection order (xdist's default sends the files with the fewest tests last, and some of those wait
# longest; alphabetical spreads the tests that start worker processes apart): tests/unit's many quick
# files come last and fill the gaps at the end.
exec .venv/bin/pytest -n "${HITL_TEST_WORKERS:-4}" --dist loadfile --no-loadscope-reorder "$@"
