import { ProviderError } from '../../errors.js';
import type { GraftRuntime } from '../../runtime.js';
import { upRanHere, upStillRunning } from '../../graft-process.js';
import type { SessionRow } from '../../state/store.js';
import { pollUntil, type PollPacing } from './backoff.js';
import type { CloudApi, CloudInstance } from './cloud-api.js';

/** Why a VM counts as forgotten. */
export type OrphanReason = 'session-unknown' | 'session-ended' | 'up-interrupted' | 'expired';

/** A graft-tagged VM no live session of this home accounts for. */
export interface OrphanVm {
  provider: 'ec2' | 'gce';
  id: string;
  placement: string;
  state: string;
  session: string;
  host?: string;
  owner?: string;
  expiresAt?: string;
  reason: OrphanReason;
}

/** One place to look: a provider and the settings that say where (region; project and zones). */
export interface CloudScope {
  provider: 'ec2' | 'gce';
  settings: Record<string, string>;
  api: CloudApi;
}

export interface OrphanSearch {
  /** This home's owner id (owner-id.ts). */
  owner: string;
  /**
   * The store is a team's (PostgreSQL): a VM whose session is in it is judged by that session
   * whichever home launched it, so any operator's gc collects a dead controller's VMs.
   */
  shared?: boolean;
  /** How long past its expiry tag a VM may still be shutting itself down before it counts as forgotten. */
  graceMs: number;
  now?: number;
}

/**
 * Lists every graft-tagged VM in the scopes and keeps the forgotten ones: of this home, those
 * whose session this home does not know, has ended, or whose `up` died while creating; of any
 * home, those past their expiry tag (plus the grace), which their dead-man's switch should have
 * ended. A live session's VMs, and unexpired VMs of other homes, are never orphans.
 */
export async function findOrphans(
  runtime: GraftRuntime,
  scopes: CloudScope[],
  search: OrphanSearch,
): Promise<{ orphans: OrphanVm[]; apiOf: Map<OrphanVm, CloudApi> }> {
  const now = search.now ?? Date.now();
  const orphans: OrphanVm[] = [];
  const apiOf = new Map<OrphanVm, CloudApi>();
  const seen = new Set<string>();
  for (const scope of scopes) {
    for (const instance of await scope.api.listTagged()) {
      const key = `${scope.provider}/${instance.placement}/${instance.id}`;
      if (seen.has(key) || !instance.tags.session) continue;
      seen.add(key);
      const reason = orphanReason(instance, runtime.store.getSession(instance.tags.session), search, now);
      if (!reason) continue;
      const orphan: OrphanVm = {
        provider: scope.provider,
        id: instance.id,
        placement: instance.placement,
        state: instance.state,
        session: instance.tags.session,
        host: instance.tags.host,
        owner: instance.tags.owner,
        expiresAt: instance.tags.expires?.toISOString(),
        reason,
      };
      orphans.push(orphan);
      apiOf.set(orphan, scope.api);
    }
  }
  return { orphans, apiOf };
}

function orphanReason(instance: CloudInstance, session: SessionRow | undefined, search: OrphanSearch, now: number): OrphanReason | undefined {
  const expired = instance.tags.expires !== undefined && instance.tags.expires.getTime() + search.graceMs < now;
  if (instance.tags.owner === search.owner || (search.shared && session)) {
    if (!session) return 'session-unknown';
    if (session.status === 'ended') return 'session-ended';
    // An `up` on another machine cannot be asked about here: only its expiry ends its VMs.
    if (session.status === 'creating' && upRanHere(session) && upStillRunning(session) === undefined) return 'up-interrupted';
  }
  return expired ? 'expired' : undefined;
}

/**
 * Terminates the orphans, waits until the providers list none of them, then removes their
 * sessions' other resources (security groups). Resolves with what is still there.
 */
export async function collectOrphans(
  orphans: OrphanVm[],
  apiOf: Map<OrphanVm, CloudApi>,
  pacing: PollPacing,
  timeoutMs: number,
): Promise<{ left: OrphanVm[] }> {
  const byApi = new Map<CloudApi, OrphanVm[]>();
  for (const orphan of orphans) byApi.set(apiOf.get(orphan)!, [...(byApi.get(apiOf.get(orphan)!) ?? []), orphan]);
  for (const [api, list] of byApi) await api.terminate(list.map(toInstance));
  const stillListed = async (): Promise<OrphanVm[]> => {
    const left: OrphanVm[] = [];
    for (const [api, list] of byApi) {
      const live = new Set((await api.listTagged()).map((i) => `${i.placement}/${i.id}`));
      left.push(...list.filter((o) => live.has(`${o.placement}/${o.id}`)));
    }
    return left;
  };
  const gone = await pollUntil(async () => ((await stillListed()).length === 0 ? true : undefined), pacing, Date.now() + timeoutMs);
  const left = gone ? [] : await stillListed();
  for (const [api, list] of byApi) {
    for (const session of new Set(list.filter((o) => !left.includes(o)).map((o) => o.session))) {
      // Another VM of the session may still be alive (a live session's): its group stays.
      if ((await api.listSession(session)).length === 0) await api.cleanupSession(session);
    }
  }
  return { left };
}

function toInstance(orphan: OrphanVm): CloudInstance {
  return { id: orphan.id, placement: orphan.placement, state: 'running', tags: {} };
}

/** The failure when VMs outlive `gc --yes`. */
export function orphansLeftError(left: OrphanVm[]): ProviderError {
  return new ProviderError(`${left.length} VM(s) still listed after terminating: ${left.map((o) => `${o.id} (${o.state})`).join(', ')}`, {
    code: 'GC_INCOMPLETE',
    actions: ['Run again: graft gc --yes'],
  });
}
