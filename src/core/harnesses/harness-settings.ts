import { isAbsolute } from 'node:path';
import { UsageError } from '../errors.js';
import type { HarnessName } from '../model/graph.js';
import { harnesses } from './registry.js';

/**
 * What the controller's environment says about how agent CLIs run: directories put first on
 * every task's PATH (`GRAFT_AGENT_PATH`, e.g. where the CLIs are installed when hosts share this
 * machine's filesystem), and per harness the vendor API base URL its CLI is pointed at (each
 * harness names its setting, e.g. `GRAFT_ANTHROPIC_BASE_URL`). Read when a run starts, so a bad
 * value fails before any host exists.
 */
export interface HarnessSettings {
  agentPath: string[];
  apiBaseUrls: Partial<Record<HarnessName, string>>;
}

export function harnessSettings(env: NodeJS.ProcessEnv): HarnessSettings {
  const agentPath = (env.GRAFT_AGENT_PATH ?? '').split(':').filter((dir) => dir !== '');
  for (const dir of agentPath) {
    // Each entry is quoted as one word into the task's environment file; a relative one would depend on the worktree.
    if (!isAbsolute(dir) || /[\n\r]/.test(dir))
      throw new UsageError(`GRAFT_AGENT_PATH: ${JSON.stringify(dir)} is not an absolute directory`, [
        'List absolute directories separated by ":", e.g. GRAFT_AGENT_PATH=/opt/agents/bin',
      ]);
  }
  const apiBaseUrls: HarnessSettings['apiBaseUrls'] = {};
  for (const harness of Object.values(harnesses)) {
    const setting = harness.apiBaseUrlSetting;
    const value = setting ? env[setting] : undefined;
    if (setting && value) apiBaseUrls[harness.name] = checkedBaseUrl(setting, value);
  }
  return { agentPath, apiBaseUrls };
}

function checkedBaseUrl(setting: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${setting}: ${JSON.stringify(value)} is not a URL`, [`Set it to the API's base URL, e.g. ${setting}=https://llm-proxy.example.com`]);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${setting}: ${JSON.stringify(value)} is not an http(s) URL`, [
      `Set it to the API's base URL, e.g. ${setting}=https://llm-proxy.example.com`,
    ]);
  // The URL reaches the host in the CLI's environment or on its command line: no place for a credential.
  if (url.username || url.password)
    throw new UsageError(`${setting}: the URL carries a user name or password`, [
      'Grant the key as a secret instead (see docs/harnesses.md#credentials) and leave it out of the URL.',
    ]);
  return value.replace(/\/+$/, '');
}
