import type { EventSink } from '../events.js';

export type ProvisionerName = 'local' | 'static' | 'ec2' | 'gce';

/** How agents on a host are kept apart (issue: agents as isolated workers). */
export type IsolationMode = 'accounts' | 'shared-account';

export type HostState = 'creating' | 'up' | 'failed' | 'destroying' | 'destroyed';

/** A host of a session, as stored in the state store and shown by `graft hosts`. */
export interface HostRecord {
  /** Unique within the session. */
  name: string;
  provisioner: ProvisionerName;
  address: string;
  port: number;
  /** The login account graft administers the host with. */
  user: string;
  state: HostState;
  slots: number;
  groups: string[];
  labels: string[];
  isolation: IsolationMode;
  /** Pinned host public keys, OpenSSH format. Never empty for a host in state `up`. */
  hostKeys: string[];
  /** Private key file for the admin login; absent when an ssh-agent is used. */
  identityFile?: string;
  /** The jump host (bastion) the host is reached through, admin and agent connections alike. */
  jump?: JumpHost;
  /** Provider's own handle: a pid for local hosts, an instance id for clouds. */
  providerId?: string;
  /** Provisioner-specific facts (local: the host's directory). */
  meta: Record<string, string>;
}

/**
 * A jump host: where it is, whom graft logs in as there (with `identityFile`, or the ssh-agent
 * when it names none), its pinned keys, and the jump before it for a chain of bastions.
 */
export interface JumpHost {
  name: string;
  address: string;
  port: number;
  user: string;
  hostKeys: string[];
  identityFile?: string;
  jump?: JumpHost;
}

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

/** A request to bring hosts up. Each provisioner reads the fields it understands. */
export interface HostRequest {
  name: string;
  slots: number;
  groups: string[];
  labels: string[];
}

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
