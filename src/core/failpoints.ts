/**
 * Failpoints: named places where a crash test can kill graft at an exact step of its work,
 * the way etcd's gofail and FreeBSD's fail(9) points do. Inert unless GRAFT_FAILPOINTS names
 * the point: `GRAFT_FAILPOINTS=task.launched@3,agent.revoked-on-host` SIGKILLs the process the
 * third time it passes `task.launched`, or the first time it passes `agent.revoked-on-host`.
 * A kill, not an exception: nothing of graft's own runs after it, as after a power cut.
 */

/** Where a local host's sshd runs but is not recorded yet: a start cut off while hosts come up. */
export const startFailpoints = ['host.started'] as const;

/** Every failpoint of a task's attempt, in the order it passes them. */
export const failpointNames = [
  'agent.provisioned',
  'agent.worktree-made',
  'task.launched',
  'task.result-fetched',
  'task.result-recorded',
  'agent.revoked-on-host',
] as const;
export type FailpointName = (typeof failpointNames)[number] | (typeof startFailpoints)[number];

const armed = parse(process.env.GRAFT_FAILPOINTS ?? '');
const passes = new Map<string, number>();

/** Kills this process here when GRAFT_FAILPOINTS arms `name` and this is the pass it names. */
export function failpoint(name: FailpointName): void {
  const at = armed.get(name);
  if (at === undefined) return;
  const count = (passes.get(name) ?? 0) + 1;
  passes.set(name, count);
  if (count === at) process.kill(process.pid, 'SIGKILL');
}

function parse(spec: string): Map<string, number> {
  const points = new Map<string, number>();
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, at] = item.split('@');
    points.set(name!, at === undefined ? 1 : Number(at));
  }
  return points;
}
