import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from './cli.js';
import type { VendorKind } from '../fakes/vendors/mock-vendor.js';

/** The three real agent CLIs, the vendor each talks to, and how graft is told about both. */
export const agentClis = {
  claude: { vendor: 'anthropic', package: '@anthropic-ai/claude-code', baseUrlSetting: 'GRAFT_ANTHROPIC_BASE_URL', key: 'ANTHROPIC_API_KEY' },
  codex: { vendor: 'openai', package: '@openai/codex', baseUrlSetting: 'GRAFT_OPENAI_BASE_URL', key: 'OPENAI_API_KEY' },
  gemini: { vendor: 'gemini', package: '@google/gemini-cli', baseUrlSetting: 'GRAFT_GEMINI_BASE_URL', key: 'GEMINI_API_KEY' },
} as const satisfies Record<string, { vendor: VendorKind; package: string; baseUrlSetting: string; key: string }>;

export type AgentCliName = keyof typeof agentClis;

/**
 * Where the CLIs under test are: the pinned devDependencies in node_modules/.bin, or
 * GRAFT_TEST_AGENT_BIN (the latest versions, from `npm run test:agents-latest`).
 */
export const agentBinDir = process.env.GRAFT_TEST_AGENT_BIN ? resolve(process.env.GRAFT_TEST_AGENT_BIN) : join(repoRoot, 'node_modules', '.bin');

/**
 * Fails (never skips) when a CLI is missing, or when the per-agent accounts of local hosts could
 * not run it: they reach it through GRAFT_AGENT_PATH, so every directory above it must be
 * searchable by others (a checkout under /root is not).
 */
export function requireAgentCli(name: AgentCliName): string {
  const bin = join(agentBinDir, name);
  if (!existsSync(bin)) {
    throw new Error(
      `${name} is not installed at ${bin}: the real agent CLIs are pinned devDependencies of graft. Install them with \`npm ci\` in ${repoRoot} (or \`npm install ${agentClis[name].package}\`).`,
    );
  }
  if (process.getuid?.() === 0) {
    for (let dir = agentBinDir; dir !== dirname(dir); dir = dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0)
        throw new Error(
          `${dir} is not searchable by other users, so agents' own accounts cannot run ${bin}: chmod o+x ${dir}, or check graft out somewhere they can read (e.g. under /srv or /opt).`,
        );
    }
  }
  return bin;
}
