import { BugError } from '../errors.js';
import type { HarnessName } from '../model/graph.js';
import { claudeHarness } from './claude.js';
import { codexHarness } from './codex.js';
import { geminiHarness } from './gemini.js';
import type { Harness } from './harness.js';
import { shellHarness } from './shell.js';

/** Every harness by name; a new HarnessName does not compile until it has one here. */
export const harnesses: Record<HarnessName, Harness> = {
  shell: shellHarness,
  claude: claudeHarness,
  gemini: geminiHarness,
  codex: codexHarness,
};

/** The names a graph's `harness:` may take, for validation and messages. */
export const harnessNames = Object.keys(harnesses) as HarnessName[];

/** The harness that starts tasks of agents with `harness: name`. */
export function harnessFor(name: HarnessName): Harness {
  const harness = harnesses[name];
  // The graph loader admits only harnessNames; anything else reaching here is graft's mistake.
  if (!harness) throw new BugError(`no harness named "${name}"`);
  return harness;
}
