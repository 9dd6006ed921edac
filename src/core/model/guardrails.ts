/** An agent's guardrails as a graph states them: where it may connect and what it may use (docs/security.md). */

/** One entry of an allow-list: an address or network, or a host name, with an optional port. */
export type AllowEntry = { address: string; port?: number } | { name: string; port?: number };

/**
 * `gateway`: graft's own services only (the agent channel and the model gateway, through their
 * tunnels); `none`: nothing at all; `open`: everything but the metadata address; a list: graft's
 * services and what it names.
 */
export type NetworkPolicy = 'gateway' | 'none' | 'open' | { allow: AllowEntry[] };

export interface ResourceLimits {
  /** CPU cores (fractions allowed): the agent's processes get at most this much CPU time. */
  cpu?: number;
  /** Bytes of memory; past it the kernel's OOM killer kills one of the agent's processes. */
  memory?: number;
  /** Processes and threads at once; past it fork fails. */
  pids?: number;
}

/** A limit that ended an attempt: the attempt's failure reason. */
export type LimitHit = 'oom' | 'pids-limit';
