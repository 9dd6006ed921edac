/**
 * The parent's side of loader-process.ts: sends one case at a time. A case is held to a bound
 * on the CPU time the loader spent on it (the machine is shared, so wall-clock time would
 * measure the neighbours too); a case still running after a longer wall-clock bound (blocked,
 * say, on a device that never ends) is killed with its child, replaced, and tried once more on
 * the fresh child before it counts as a hang. A child that dies (out of memory, say) is a
 * finding of its own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadOutcome, LoadRequest } from './loader-process.js';

export type CaseOutcome = LoadOutcome | { class: 'hang' } | { class: 'child-died'; error: string };

const childScript = fileURLToPath(new URL('./loader-process.ts', import.meta.url));
/** The child's heap: enough for any sane file, small enough that a runaway one dies quickly. */
const childHeapMb = 1024;

export class LoaderHost {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private nextId = 0;
  private stderrTail = '';

  constructor(private readonly wallBoundMs: number) {}

  /** Runs one case; `hang` only when it is over the wall-clock bound twice in a row. `ms` is wall-clock time. */
  async run(request: Omit<LoadRequest, 'id'>): Promise<CaseOutcome & { ms: number }> {
    const first = await this.once(request);
    if (first.class !== 'hang') return first;
    return this.once(request);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const child = fork(childScript, [], { execArgv: ['--import', 'tsx', `--max-old-space-size=${childHeapMb}`], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child = child;
    this.stderrTail = '';
    child.stderr!.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000)));
    this.ready = new Promise((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code, signal) => reject(new Error(`the loader process exited before it was ready (${code ?? signal}): ${this.stderrTail}`)));
    });
    return this.ready;
  }

  private async once(request: Omit<LoadRequest, 'id'>): Promise<CaseOutcome & { ms: number }> {
    await this.start();
    const child = this.child!;
    const id = ++this.nextId;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    return new Promise((resolve) => {
      const finish = (outcome: CaseOutcome) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve({ ...outcome, ms: elapsed() });
      };
      const onMessage = (message: { id?: number; outcome?: LoadOutcome }) => {
        if (message.id === id && message.outcome) finish(message.outcome);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        this.ready = undefined;
        finish({ class: 'child-died', error: `exit ${code ?? signal}: ${this.stderrTail.trim().split('\n').slice(-5).join('\n')}` });
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        void this.stop().then(() => finish({ class: 'hang' }));
      }, this.wallBoundMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ id, ...request } satisfies LoadRequest);
    });
  }
}
