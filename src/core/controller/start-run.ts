import { ConfigError } from '../errors.js';
import { loadGraphFile } from '../graph/graph-file.js';
import type { GraphSpec } from '../model/graph.js';
import { initialRecords } from '../graph/scheduler.js';
import { placementProblems } from '../graph/validate.js';
import { harnessSettings } from '../harnesses/index.js';
import type { GraftRuntime } from '../runtime.js';
import type { HostRecord } from '../model/host.js';
import { bringUp, finishBringUp, type UpRequest } from '../session/bring-up.js';
import { type ProvisionerFactory } from '../provisioners/provisioner.js';
import { RunStore } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import { openLocalRepo, resolveCommit } from '../workspace/local-repo.js';

export interface RunRequest {
  graphFile: string;
  /** The controller's repository: any directory inside it. */
  repoDir: string;
  autoApprove: boolean;
  ttlMs: number;
}

/**
 * Everything before the first task: load and check the graph, resolve its base in the
 * controller's repository, create the session and its run record (the run exists before any host
 * does, so an interrupted start is visible to `status` and `down`), then bring the hosts up and
 * check every task's host selector against them.
 */
export async function startRun(
  runtime: GraftRuntime,
  request: RunRequest,
  factory: ProvisionerFactory,
  onSession?: (id: string) => void,
): Promise<{ session: SessionRow; graph: GraphSpec }> {
  const graph = await loadGraphFile(request.graphFile);
  // The agent settings are read again by the controller; here a bad one fails before any host exists.
  harnessSettings(runtime.env);
  const repo = await openLocalRepo(request.repoDir);
  const baseCommit = await resolveCommit(repo, graph.base);
  const runs = new RunStore(runtime.store);
  const { session, hosts } = await bringUp(runtime, upRequest(graph, request.ttlMs), factory, (id) => {
    runs.createRun(id, { ...graph, repo: repo.root, baseCommit, autoApprove: request.autoApprove }, initialRecords(graph), process.pid);
    runtime.events.emit({
      code: 'run.started',
      level: 'info',
      message: `running ${graph.file}: ${Object.keys(graph.tasks).length} task(s) from ${graph.base} (${baseCommit.slice(0, 12)})`,
      session: id,
      data: { graph: graph.file, base: baseCommit },
    });
    onSession?.(id);
  });
  requirePlacements(runs, session.id, graph, hosts);
  return { session, graph };
}

/**
 * The rest of a start that was cut off while the hosts came up (the controller was killed then):
 * the missing hosts are brought up and every task's host selector is checked against them.
 */
export async function finishStart(runtime: GraftRuntime, session: SessionRow, graph: GraphSpec, factory: ProvisionerFactory): Promise<SessionRow> {
  const { session: live, hosts } = await finishBringUp(runtime, session, factory);
  requirePlacements(new RunStore(runtime.store), session.id, graph, hosts);
  return live;
}

function requirePlacements(runs: RunStore, session: string, graph: GraphSpec, hosts: HostRecord[]): void {
  const problems = placementProblems(
    graph,
    hosts.filter((h) => h.state === 'up'),
  );
  if (problems.length > 0) {
    runs.setRunStatus(session, 'failed');
    throw new ConfigError(problems, [`Fix the selectors (or the hosts: section), then: graft down --session ${session} && graft run ${graph.file}`]);
  }
}

function upRequest(graph: GraphSpec, ttlMs: number): UpRequest {
  const hosts = graph.hosts;
  if (hosts.provisioner === 'static') return { provisioner: 'static', inventory: hosts.inventory, ttlMs };
  if (hosts.provisioner === 'local')
    return { provisioner: 'local', hosts: hosts.count, slots: hosts.slots, labels: hosts.labels, privacy: hosts.privacy, ttlMs };
  return { provisioner: hosts.provisioner, hosts: hosts.count, slots: hosts.slots, labels: [], settings: cloudSettings(hosts.settings), ttlMs };
}

/**
 * A graph names cloud settings as `up` names its flags (`instance-type`, `zone`); the drivers
 * read them in camelCase (`instanceType`, `zones`: a list, comma-separated).
 */
function cloudSettings(settings: Record<string, string>): Record<string, string> {
  const renamed: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings)) {
    const camel = key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    renamed[camel === 'zone' ? 'zones' : camel === 'subnet' ? 'subnets' : camel] = String(value);
  }
  return renamed;
}
