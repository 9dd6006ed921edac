/** The hosts of a session as graft records them: what every layer that reaches a host shares. */

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

/** A request to bring hosts up. Each provisioner reads the fields it understands. */
export interface HostRequest {
  name: string;
  slots: number;
  groups: string[];
  labels: string[];
  /** Hide processes from the accounts that do not own them (hidepid on /proc) at the first agent; cloud VMs always do. */
  privacy?: boolean;
}
