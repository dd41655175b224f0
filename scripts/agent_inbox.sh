#!/usr/bin/env bash
# LangChain's Agent Inbox against `hitl serve`, in Debian's chromium (issue 25): list, open, accept, edit,
# respond, ignore and mark resolved, each run's final values checked (scripts/agent_inbox_check.py).
# Needs Agent Inbox's source (public: langchain-ai/agent-inbox), a checkout or a git directory, at
# AGENT_INBOX_SRC; without it the check is skipped, saying so. At run time it reaches only the npm
# registry (`yarn install`, once per source revision; kept under ~/.cache/hitl/agent-inbox).
# Exit status 1 when a step fails; arguments go to the driver (e.g. --cache DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="${AGENT_INBOX_SRC:-/work/.mirror/langchain-ai+agent-inbox/repo}"
if [ ! -e "$SRC" ]; then
  echo "Agent Inbox check skipped: source not found at $SRC (set AGENT_INBOX_SRC to a checkout of langchain-ai/agent-inbox)"
  exit 0
fi
for tool in node git /usr/bin/chromium; do
  if ! command -v "$tool" > /dev/null; then
    echo "Agent Inbox check skipped: $tool not found (Node.js and Debian's chromium are needed)"
    exit 0
  fi
done
exec .venv/bin/python scripts/agent_inbox_check.py "$SRC" "$@"
