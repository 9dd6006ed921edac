import type { PollPacing } from './backoff.js';

/** How long each phase may take, and how often the provider is asked. */
export interface CloudTiming {
  poll: PollPacing;
  /** From launch until the console shows host keys. */
  bootTimeoutMs: number;
  /** From pinned keys until the admin login works. */
  reachTimeoutMs: number;
  /** From terminate until the provider lists none of the session's VMs. */
  destroyTimeoutMs: number;
}

export const defaultCloudTiming: CloudTiming = {
  poll: { initialMs: 2000, maxMs: 10_000 },
  bootTimeoutMs: 600_000,
  reachTimeoutMs: 300_000,
  destroyTimeoutMs: 600_000,
};
