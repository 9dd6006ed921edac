import type { HostRecord } from '../core/model/host.js';
import { fingerprintSha256 } from '../core/ssh/index.js';
import { renderTable } from './table.js';

/** A host as `graft hosts` and `graft up` show it, and as `--json` returns it. */
export interface HostView {
  name: string;
  address: string;
  port: number;
  user: string;
  state: string;
  slots: number;
  groups: string[];
  labels: string[];
  isolation: string;
  /** How the host enforces agents' resource limits (`cgroup-v1`, `cgroup-v2`, `none`), once graft has asked it (at its first agent). */
  limits?: string;
  /** Whether /proc hides other accounts' processes from agents (`hidepid`, `off`), once graft has asked it. */
  privacy?: string;
  /** Pinned host keys, OpenSSH format: what a known_hosts file would hold. */
  hostKeys: string[];
  hostKeyFingerprints: string[];
  error?: string;
}

export function hostView(host: HostRecord): HostView {
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    state: host.state,
    slots: host.slots,
    groups: host.groups,
    labels: host.labels,
    isolation: host.isolation,
    ...(host.meta.limits ? { limits: host.meta.limits } : {}),
    ...(host.meta.privacy ? { privacy: host.meta.privacy } : {}),
    hostKeys: host.hostKeys,
    hostKeyFingerprints: host.hostKeys.map((k) => fingerprintSha256(k)),
    ...(host.meta.error ? { error: host.meta.error } : {}),
  };
}

export function renderHosts(hosts: HostView[]): string {
  return renderTable(
    ['name', 'address', 'user', 'state', 'slots', 'labels', 'isolation', 'limits', 'privacy', 'host key'],
    hosts.map((h) => [
      h.name,
      `${h.address}:${h.port}`,
      h.user,
      h.state,
      String(h.slots),
      h.labels.join(',') || '-',
      h.isolation,
      h.limits ?? '-',
      h.privacy ?? '-',
      h.hostKeyFingerprints[0] ?? '-',
    ]),
  );
}
