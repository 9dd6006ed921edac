/**
 * An agent's resource limits (docs/security.md): CPU cores, memory and processes, from the
 * graph's `limits:`, enforced by the host's cgroups (provisioners/host/limits.sh). The host tool
 * makes the agent's cgroups with its account; the task's wrapper joins them before the harness
 * starts; what a limit did to the attempt is read back when its process ends.
 */

import type { LimitHit, ResourceLimits } from '../model/guardrails.js';

export const limitHits: readonly LimitHit[] = ['oom', 'pids-limit'];

const units: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `512M`, `4G`, `1.5G`, or a number of bytes; at least 4 MiB. Undefined when it is none of these. */
export function parseMemory(value: string | number): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(String(value).trim());
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * units[match[2]!.toUpperCase()]!);
  return bytes >= 4 * 1024 ** 2 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** The task's limits over its agent's, key by key; undefined when neither sets any. */
export function mergeLimits(agent: ResourceLimits | undefined, task: ResourceLimits | undefined): ResourceLimits | undefined {
  const merged = { ...agent, ...task };
  return Object.keys(merged).length > 0 ? merged : undefined;
}

/** The host tool's LIMITS argument: `cpu=MILLICORES,memory=BYTES,pids=N`, the keys that are set. */
export function limitsArgument(limits: ResourceLimits | undefined): string {
  if (!limits) return '';
  const parts: string[] = [];
  if (limits.cpu !== undefined) parts.push(`cpu=${Math.max(10, Math.round(limits.cpu * 1000))}`);
  if (limits.memory !== undefined) parts.push(`memory=${limits.memory}`);
  if (limits.pids !== undefined) parts.push(`pids=${limits.pids}`);
  return parts.join(',');
}

/** What a limit did to an attempt, in words for its error. */
export function describeLimitHit(hit: LimitHit, limits: ResourceLimits | undefined): string {
  if (hit === 'oom')
    return `oom: the agent's processes reached their memory limit${limits?.memory ? ` (${Math.round(limits.memory / 1024 ** 2)} MiB)` : ''} and the kernel killed one`;
  return `pids-limit: the agent's processes reached their limit of ${limits?.pids ?? 'its'} processes and a fork failed`;
}

/** At most this share of a host's memory goes to its agents, all slots full. */
const memoryShare = 0.9;
const defaultMemoryFloor = 256 * 1024 ** 2;
/** Processes and threads per agent unless the graph says: far above any harness, far below a fork bomb. */
export const defaultPidsLimit = 4096;

/**
 * The limits every task's agent gets on a host that can enforce them (cgroup v1), unless its
 * graph sets its own: memory, 90% of the host's divided by its slots (at least 256 MiB), so full
 * slots cannot run the host out of memory; 4,096 processes. CPU is not capped by default (the
 * kernel shares it between agents; `cpu:` caps it). None on a host without the mechanism. Hosts
 * that are one machine (local hosts: meta.machineSlots) share its memory over all their slots.
 */
export function defaultLimits(host: { slots: number; meta: Record<string, string> }): ResourceLimits {
  if (host.meta.limits !== 'cgroup-v1') return {};
  const memory = Number(host.meta.memory);
  const slots = Number(host.meta.machineSlots) || host.slots;
  const limits: ResourceLimits = { pids: defaultPidsLimit };
  if (Number.isSafeInteger(memory) && memory > 0) {
    const share = Math.floor((memory * memoryShare) / Math.max(1, slots) / 1024 ** 2) * 1024 ** 2;
    limits.memory = Math.max(defaultMemoryFloor, share);
  }
  return limits;
}

/** An attempt's limits: the host's defaults, key by key replaced by its agent's and then its task's. */
export function attemptLimits(host: { slots: number; meta: Record<string, string> }, agent: ResourceLimits | undefined, task: ResourceLimits | undefined) {
  return mergeLimits({ ...defaultLimits(host), ...agent }, task);
}
