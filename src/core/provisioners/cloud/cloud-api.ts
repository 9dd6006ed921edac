import type { GraftTagValues } from './graft-tags.js';

/** Where an instance is in its life, in the provider-neutral words graft uses. */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'terminating' | 'terminated';

/** One VM as the provider lists it. */
export interface CloudInstance {
  /** The provider's handle: an EC2 instance id, a Compute Engine instance name. */
  id: string;
  /** Where it runs: an EC2 subnet, a Compute Engine zone. */
  placement: string;
  state: InstanceState;
  publicAddress?: string;
  /** graft's tags read back (absent when someone removed them). */
  tags: Partial<GraftTagValues>;
}

/** What one VM is launched with. */
export interface LaunchRequest {
  host: string;
  placement: string;
  /** cloud-init user-data (a `#cloud-config` document). */
  userData: string;
  tags: GraftTagValues;
  /**
   * Makes a repeated launch of the same host return the same VM where the provider can
   * (EC2 ClientToken; Compute Engine instance name + requestId), so a retried call after a
   * lost response never starts a second machine.
   */
  idempotencyKey: string;
}

/**
 * The provider-specific half of a cloud provisioner: a thin layer over one SDK client, given
 * that client through its constructor. Everything graft decides (failover, polling, pinning,
 * verification) lives in CloudProvisioner, the same for every provider.
 */
export interface CloudApi {
  readonly provider: 'ec2' | 'gce';
  /** Where a VM may be launched, in the order to try: subnets across availability zones, or zones. */
  placements(): Promise<string[]>;
  /** Session-wide resources made before any VM (EC2: the security group). Idempotent. */
  prepareSession(session: string, tags: Omit<GraftTagValues, 'host'>): Promise<void>;
  /** Launches one VM; throws PlacementUnavailable when that placement has no capacity for it. */
  launch(request: LaunchRequest): Promise<CloudInstance>;
  /** The session's VMs that are not yet terminated, found by its tag. */
  listSession(session: string): Promise<CloudInstance[]>;
  /** Every VM that carries a graft session tag, whatever its session (for `gc`). */
  listTagged(): Promise<CloudInstance[]>;
  /** Starts terminating the VMs; VMs already gone are fine. */
  terminate(instances: CloudInstance[]): Promise<void>;
  /** What the VM printed on its console (EC2 console output, Compute Engine serial port 1). */
  consoleOutput(instance: CloudInstance): Promise<string>;
  /** Session-wide resources besides VMs that are still present (security groups, volumes), described. */
  sessionLeftovers(session: string): Promise<string[]>;
  /** Removes session-wide resources once its VMs are gone. Idempotent. */
  cleanupSession(session: string): Promise<void>;
  /** Rewrites the expiry tag of the VMs (when `graft extend` moves the session's end). */
  setExpiry(instances: CloudInstance[], expires: Date): Promise<void>;
}

/**
 * A placement (subnet / zone) cannot take the VM now: the provider said it has no capacity
 * there. The provisioner tries the next placement; only provider error codes are classified
 * as this, never message text.
 */
export class PlacementUnavailable extends Error {
  constructor(
    readonly placement: string,
    /** The provider's error code, e.g. InsufficientInstanceCapacity, ZONE_RESOURCE_POOL_EXHAUSTED. */
    readonly providerCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'PlacementUnavailable';
  }
}
