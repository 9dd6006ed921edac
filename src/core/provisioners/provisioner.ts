import { mkdirSync } from 'node:fs';
import type { EventSink } from '../events.js';
import { attachAuditLog, sessionFiles, type GraftRuntime } from '../runtime.js';
import type { HostRecord, HostRequest, ProvisionerName } from '../model/host.js';

/** What a provisioner needs to know about the session it works for. */
export interface SessionContext {
  id: string;
  /** Directory that belongs to this session only (keys, host dirs). */
  dir: string;
  events: EventSink;
  /** Persists a host now; provisioners call it before and after each step so a crash loses nothing. */
  recordHost(host: HostRecord): void;
  /** When the session ends (ISO time), where known: cloud VMs power themselves off then. */
  expiresAt?: string;
}

/** Builds the provisioner for a request or an existing session; supplied by the caller so tests can inject. */
export type ProvisionerFactory = (
  name: ProvisionerName,
  session: { id: string; dir: string; spec: Record<string, unknown> },
) => Promise<{ provisioner: Provisioner; requests?: HostRequest[] }>;

/**
 * A driver that creates, lists and destroys hosts. Creating pins each host's key
 * before any connection to it. Destroying is idempotent: a host already gone is success.
 */
export interface Provisioner {
  readonly name: ProvisionerName;
  /** Brings the requested hosts up; resolves with every host, failed ones in state `failed`. */
  create(session: SessionContext, requests: HostRequest[]): Promise<HostRecord[]>;
  /** Hosts of the session as the provider sees them now, found by tag or by looking, not from memory. */
  list(session: SessionContext, known: HostRecord[]): Promise<HostRecord[]>;
  /** Removes the hosts (or, for hosts graft does not own, cleans what graft left). Idempotent. */
  destroy(session: SessionContext, hosts: HostRecord[]): Promise<void>;
}

/**
 * An optional capability: a provisioner that leaves more than hosts behind (accounts, system
 * files) names what of a session is still present, so tear-down can prove it is all gone.
 */
export interface ReportsLeftovers {
  /** What of the session, besides hosts, is still present, each as a short description; empty when nothing is. */
  leftovers(session: SessionContext): Promise<string[]>;
}

/** Whether the provisioner can report non-host leftovers. */
export function reportsLeftovers(provisioner: Provisioner): provisioner is Provisioner & ReportsLeftovers {
  return typeof (provisioner as Partial<ReportsLeftovers>).leftovers === 'function';
}

/**
 * An optional capability: hosts that stop themselves at the session's end (cloud VMs' dead-man's
 * switch) can be told a later end while the session is alive.
 */
export interface ExtendsExpiry {
  /** Moves the hosts' end to `expiresAt`; throws after trying every host, naming those it could not reach. */
  extendExpiry(session: SessionContext, hosts: HostRecord[], expiresAt: Date): Promise<void>;
}

/** Whether the provisioner's hosts have an end that can be moved. */
export function extendsExpiry(provisioner: Provisioner): provisioner is Provisioner & ExtendsExpiry {
  return typeof (provisioner as Partial<ExtendsExpiry>).extendExpiry === 'function';
}

/**
 * The view of a session a provisioner gets: its directory, the event sink, and a way to
 * persist a host the moment something about it changes (intent before acting).
 * Also starts the session's audit log.
 */
export function sessionContext(runtime: GraftRuntime, sessionId: string): SessionContext {
  const files = sessionFiles(runtime, sessionId);
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  attachAuditLog(runtime, sessionId);
  return {
    id: sessionId,
    dir: files.dir,
    events: runtime.events,
    recordHost: (host: HostRecord) => runtime.store.putHost(sessionId, host),
  };
}
