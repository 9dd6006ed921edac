#!/usr/bin/env bash
# One command from a fresh Debian/Ubuntu checkout to a working graft: system packages,
# npm dependencies, build, `graft` on the PATH, then a first local demo.
# Pass --no-demo to stop after installing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-packages.sh
npm ci --no-audit --no-fund
npm run build
if npm link --no-audit --no-fund >/dev/null 2>&1; then
  echo "graft is on your PATH: $(command -v graft || echo "$(npm prefix -g)/bin/graft")" >&2
else
  echo "could not link graft globally; run it as $(pwd)/bin/run.js" >&2
fi

[ "${1:-}" = "--no-demo" ] && exit 0
bash examples/demo.sh
