/** How a provisioner paces its polls of a cloud API: the first wait, and the cap it grows to. */
export interface PollPacing {
  /** First wait between two polls, in ms. */
  initialMs: number;
  /** The wait doubles up to this, in ms. */
  maxMs: number;
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Calls `attempt` until it returns something other than undefined, waiting between calls
 * (doubling from `pacing.initialMs` up to `pacing.maxMs`), and gives up at `deadline`
 * (epoch ms) by resolving undefined. Errors thrown by `attempt` propagate: whether an error
 * is worth another try is the caller's to decide inside `attempt`.
 */
export async function pollUntil<T>(attempt: () => Promise<T | undefined>, pacing: PollPacing, deadline: number): Promise<T | undefined> {
  let wait = pacing.initialMs;
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (Date.now() + wait > deadline) return undefined;
    await sleep(wait);
    wait = Math.min(wait * 2, pacing.maxMs);
  }
}

/**
 * Runs `call`, and again after a growing, jittered wait while `retryable(error)` says the
 * provider asked graft to slow down (throttling, a busy backend). Gives up after `attempts`.
 */
export async function withBackoff<T>(call: () => Promise<T>, retryable: (error: unknown) => boolean, pacing: PollPacing, attempts = 8): Promise<T> {
  let wait = pacing.initialMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= attempts || !retryable(error)) throw error;
      await sleep(wait / 2 + Math.random() * (wait / 2));
      wait = Math.min(wait * 2, pacing.maxMs);
    }
  }
}
