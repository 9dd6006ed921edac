#!/usr/bin/env bash
# The real-agent e2e tests (test/e2e/real-agents.test.ts) against the latest published claude,
# codex and gemini CLIs instead of the pinned devDependencies, so a CLI that changed its flags,
# requests or settings is found before users find it. Not part of `npm test` or CI: it asks the
# npm registry for whatever is newest. Installs into a throwaway prefix; leaves node_modules alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# The packages come from the one list of agent CLIs the tests use.
packages=$(node --import tsx -e "import('./test/helpers/agent-clis.ts').then((m) => console.log(Object.values(m.agentClis).map((c) => c.package + '@latest').join(' ')))")
prefix=$(mktemp -d "${TMPDIR:-/tmp}/graft-agents-latest-XXXXXX")
trap 'rm -rf "$prefix"' EXIT
# Agents run as their own accounts on local hosts and must be able to reach the CLIs.
chmod 755 "$prefix"

echo "installing $packages into $prefix" >&2
npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error $packages >&2
for cli in claude codex gemini; do
  printf '%s: %s\n' "$cli" "$("$prefix/node_modules/.bin/$cli" --version 2>&1 | head -n 1)" >&2
done

npm run build >&2
GRAFT_TEST_AGENT_BIN="$prefix/node_modules/.bin" npx mocha 'test/e2e/real-agents.test.ts'
