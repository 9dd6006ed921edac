/**
 * The child process that runs the library loaders on fuzz cases, one at a time, so the parent
 * can hold each case to a time bound (and kill a case that hangs or blows up its memory
 * without losing the run). Reads `{ id, kind, file }` messages, answers with a LoadOutcome.
 */
import { loadGraphFile } from '../../../src/core/graph/graph-file.js';
import { inventoryPlacementProblems } from '../../../src/core/graph/graph-hosts.js';
import { ConfigError, type ConfigProblem } from '../../../src/core/errors.js';
import { loadStaticHostSpecs } from '../../../src/core/inventory/index.js';
import { hermeticHostSpecEnvironment } from '../../helpers/ssh-home.js';
import type { LoaderKind } from './cases.js';

export interface LoadRequest {
  id: number;
  kind: LoaderKind;
  file: string;
}

/** What one load ended in, and the CPU time it took. Problems are summarised: a case may have hundreds of thousands. */
export type LoadOutcome = LoadResult & { cpuMs: number };
type LoadResult =
  { class: 'ok' } | { class: 'config-error'; count: number; files: string[]; emptyMessages: number; sample: string[] } | { class: 'crash'; error: string };

/** What `graft graph check` and `graft inventory check` do before printing. */
async function load(request: LoadRequest): Promise<void> {
  if (request.kind === 'inventory') {
    loadStaticHostSpecs(request.file, { env: hermeticHostSpecEnvironment() });
    return;
  }
  const graph = await loadGraphFile(request.file);
  const placement = inventoryPlacementProblems(graph);
  if (placement.length > 0) throw new ConfigError(placement);
}

function summarise(problems: ConfigProblem[]): LoadResult {
  const files = new Set<string>();
  let emptyMessages = 0;
  for (const p of problems) {
    files.add(String(p.file));
    if (typeof p.message !== 'string' || p.message.trim() === '') emptyMessages += 1;
  }
  return {
    class: 'config-error',
    count: problems.length,
    files: [...files],
    emptyMessages,
    sample: problems.slice(0, 3).map((p) => new ConfigError([p]).message.slice(0, 300)),
  };
}

async function outcomeOf(request: LoadRequest): Promise<LoadOutcome> {
  const cpu = process.cpuUsage();
  const result = await resultOf(request);
  const used = process.cpuUsage(cpu);
  return { ...result, cpuMs: Math.round((used.user + used.system) / 1000) };
}

async function resultOf(request: LoadRequest): Promise<LoadResult> {
  try {
    await load(request);
    return { class: 'ok' };
  } catch (error) {
    if (error instanceof ConfigError) return summarise(error.problems);
    const e = error as Error;
    return { class: 'crash', error: `${e?.name}: ${String(e?.message).slice(0, 300)}\n${String(e?.stack).split('\n').slice(1, 6).join('\n')}` };
  }
}

process.on('message', (request: LoadRequest) => {
  void outcomeOf(request).then((outcome) => process.send!({ id: request.id, outcome }));
});
process.send!({ ready: true });
