import type { GraftRuntime } from '../../runtime.js';
import { UsageError } from '../../errors.js';
import { cloudApiFor } from '../cloud-factory.js';
import type { CloudScope } from './orphan-collection.js';

/** Settings that say where a provider's VMs are (not how they are made). */
const whereKeys: Record<'ec2' | 'gce', string[]> = { ec2: ['region'], gce: ['project', 'zones'] };

/**
 * Where `gc` looks: every distinct place this home's cloud sessions used (EC2 region; Compute
 * Engine project and zones), plus the places given. Each comes with its API client.
 */
export async function cloudScopes(runtime: GraftRuntime, given: { provider: 'ec2' | 'gce'; settings: Record<string, string> }[]): Promise<CloudScope[]> {
  const wanted = new Map<string, { provider: 'ec2' | 'gce'; settings: Record<string, string> }>();
  const sessions = runtime.store.listSessions().filter((s) => s.provisioner === 'ec2' || s.provisioner === 'gce');
  for (const place of [
    ...given,
    ...sessions.map((s) => ({ provider: s.provisioner as 'ec2' | 'gce', settings: (s.spec.settings ?? {}) as Record<string, string> })),
  ]) {
    const settings = Object.fromEntries(whereKeys[place.provider].filter((k) => place.settings[k] !== undefined).map((k) => [k, place.settings[k]!]));
    wanted.set(`${place.provider} ${JSON.stringify(settings)}`, { provider: place.provider, settings });
  }
  if (wanted.size === 0) {
    throw new UsageError('this graft home has no cloud sessions, so gc does not know where to look', [
      'Name a place: graft gc --provisioner ec2 --region eu-west-1, or --provisioner gce --project P --zone Z',
    ]);
  }
  return Promise.all([...wanted.values()].map(async (place) => ({ ...place, api: await cloudApiFor(place.provider, place.settings, { env: runtime.env }) })));
}
