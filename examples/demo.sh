#!/usr/bin/env bash
# The graft demo, with no cloud account and no LLM key: a task graph of scripted agents on two
# local SSH hosts — a planner, two workers in parallel that message each other, a checker that
# starts from both results merged, and a reviewer behind an approval gate (passed automatically
# here with --auto-approve). Runs in a throwaway git repository and GRAFT_HOME; leaves nothing.
set -euo pipefail
graft="$(cd "$(dirname "$0")/.." && pwd)/bin/run.js"
graph="$(cd "$(dirname "$0")" && pwd)/demo.yaml"
work="$(mktemp -d)"
export GRAFT_HOME="${GRAFT_HOME:-$work/graft-home}"
trap '"$graft" down --quiet >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# A small project to work on.
git init -q -b main "$work/project"
cd "$work/project"
echo "# demo project" > README.md
git add README.md
git -c user.name=demo -c user.email=demo@example.com commit -qm "initial commit"

echo "== graft run examples/demo.yaml --auto-approve" >&2
"$graft" run "$graph" --auto-approve
echo "== graft status" >&2
"$graft" status
session="$("$graft" status --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).result.session))')"
echo "== what the ui agent heard from the api agent (branch graft/$session/ui)" >&2
git show "graft/$session/ui:ui/CALLS"
echo "== the merged history the reviewer saw (branch graft/$session/review)" >&2
git log --oneline "graft/$session/review"
echo "== graft down" >&2
"$graft" down
