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
python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'
exec .venv/bin/pytest "$@"
