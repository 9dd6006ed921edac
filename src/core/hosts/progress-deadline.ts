/**
 * The deadline of a host-tool step that queues for a lock on the host: loose while it waits for
 * its turn, then `stepMs` from the line the tool prints once it holds the lock, and `stepMs` again
 * from each line it prints as a long batch goes on. A slow or busy host makes the step later, not
 * failed; a step that stops making progress still ends.
 */
export interface ProgressDeadlineOptions {
  /** How long the step may wait for its turn at all. */
  queueMs: number;
  /** How long it may go without progress once it runs. */
  stepMs: number;
  /** The tool's line once it holds the lock (the step runs from there). */
  startedLine: string;
  /** The tool's line as a batch goes on. */
  workingLine: string;
  /** Called once, with why, when the deadline passes. */
  onExpire(message: string): void;
  /** Names the step in the messages: "host: subcommand". */
  label: string;
}

export class ProgressDeadline {
  private timer: NodeJS.Timeout;
  /** The end of the output so far, where a line split between chunks is found whole. */
  private heard = '';
  private started = false;

  constructor(private readonly options: ProgressDeadlineOptions) {
    this.timer = this.expireIn(options.queueMs, `${options.label} waited ${options.queueMs / 60_000} min for its turn at the host's lock without getting it`);
  }

  /** Reads the step's standard output as it arrives. */
  feed(chunk: Buffer | string): void {
    const { startedLine, workingLine, stepMs, label } = this.options;
    this.heard = (this.heard + chunk.toString()).slice(-200);
    if (!this.heard.includes(`${this.started ? workingLine : startedLine}\n`)) return;
    this.heard = '';
    this.started = true;
    clearTimeout(this.timer);
    this.timer = this.expireIn(
      stepMs,
      `${label} timed out after ${stepMs} ms without progress, counted from when the host started it (after its turn at the lock) or last said it was still working`,
    );
  }

  /** The step ended: no deadline any more. */
  stop(): void {
    clearTimeout(this.timer);
  }

  private expireIn(ms: number, message: string): NodeJS.Timeout {
    return setTimeout(() => this.options.onExpire(message), ms);
  }
}
