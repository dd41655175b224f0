#!/usr/bin/env bash
# The docs site (mkdocs.yml, docs/): install the docs extra, then serve it with live reload at
# http://127.0.0.1:8001 (`hitl serve` has :8000). `bash scripts/docs.sh build` builds site/ with
# --strict instead, as CI does: a broken link or docstring reference fails. Works offline.
set -euo pipefail
export NO_MKDOCS_2_WARNING=1  # Material's end-of-life banner on every run
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[docs]'
command=${1:-serve}
[ $# -gt 0 ] && shift
if [ "$command" = build ]; then
  exec .venv/bin/mkdocs build --strict "$@"
fi
exec .venv/bin/mkdocs serve "$@"
