/**
 * Held `ask` polls. A human answers from another process (`graft message`), which this one
 * cannot be told about, so one timer looks at the store for every held poll while any is
 * held: a primary-key lookup each, cheap next to a human's pace.
 */
import type { StoredMessage } from '../state/message-store.js';

interface Wait {
  look: () => StoredMessage | undefined;
  until: number;
  settle: (answer: StoredMessage | undefined, error?: unknown) => void;
}

export class AnswerWaits {
  private readonly waits = new Set<Wait>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {}

  /**
   * Resolves with the answer `look` finds, or undefined after `timeoutMs` or when `signal`
   * aborts (the client went away). `look` runs at once, so a question answered already costs
   * no wait, and its errors (not the asker's question) reject at once.
   */
  wait(look: () => StoredMessage | undefined, timeoutMs: number, signal: AbortSignal): Promise<StoredMessage | undefined> {
    const now = look();
    if (now || timeoutMs <= 0) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const wait: Wait = {
        look,
        until: Date.now() + timeoutMs,
        settle: (answer, error) => {
          if (!this.waits.delete(wait)) return;
          signal.removeEventListener('abort', onAbort);
          if (this.waits.size === 0) this.stopTimer();
          if (error === undefined) resolve(answer);
          else reject(error);
        },
      };
      const onAbort = () => wait.settle(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waits.add(wait);
      this.timer ??= setInterval(() => this.tick(), this.intervalMs);
    });
  }

  /** Releases every held poll with no answer (the server is closing). */
  releaseAll(): void {
    for (const wait of [...this.waits]) wait.settle(undefined);
    this.stopTimer();
  }

  private tick(): void {
    const now = Date.now();
    for (const wait of [...this.waits]) {
      try {
        const answer = wait.look();
        if (answer || now >= wait.until) wait.settle(answer);
      } catch (error) {
        wait.settle(undefined, error);
      }
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
