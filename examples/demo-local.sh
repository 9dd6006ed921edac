#!/usr/bin/env bash
# A first look at graft with no cloud account: three local SSH hosts, a command on all of
# them, then teardown. Uses its own GRAFT_HOME so it does not touch your sessions.
set -euo pipefail
graft="$(cd "$(dirname "$0")/.." && pwd)/bin/run.js"
export GRAFT_HOME="${GRAFT_HOME:-$(mktemp -d)/graft-demo}"
# Whatever happens, leave nothing running.
trap '"$graft" down --quiet >/dev/null 2>&1 || true' EXIT

echo "== graft up --hosts 3 --label demo" >&2
"$graft" up --hosts 3 --label demo
echo "== graft hosts" >&2
"$graft" hosts
echo "== graft exec -- 'echo hello from \$(hostname) as \$(id -un)'" >&2
"$graft" exec -- 'echo hello from $(hostname) as $(id -un)'
echo "== graft down" >&2
"$graft" down
echo "== graft down (again: harmless)" >&2
"$graft" down
