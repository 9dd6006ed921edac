import { expect } from 'chai';
import { EventBus } from '../../../src/core/events.js';
import { SecurityError } from '../../../src/core/errors.js';
import { fanoutExec, fanoutExitCode, type RemoteExecutor } from '../../../src/core/fanout/fanout-exec.js';
import type { HostRecord } from '../../../src/core/model/host.js';

const host = (name: string): HostRecord => ({
  name,
  provisioner: 'static',
  address: name,
  port: 22,
  user: 'u',
  state: 'up',
  slots: 1,
  groups: [],
  labels: [],
  isolation: 'shared-account',
  hostKeys: ['k'],
  meta: {},
});

/** An executor that answers per host name: the fan-out logic is what is under test here. */
function scripted(behaviour: Record<string, () => Promise<{ exitCode: number | null; stdout?: string; truncated?: boolean }>>): RemoteExecutor {
  return {
    exec: async (endpoint) => {
      const r = await behaviour[endpoint.label]!();
      return { exitCode: r.exitCode, signal: null, stdout: r.stdout ?? '', stderr: '', durationMs: 1, truncated: r.truncated ?? false };
    },
  };
}

const options = (timeoutMs?: number) => ({
  concurrency: 10,
  timeoutMs,
  headLines: 2,
  events: new EventBus(),
  endpointFor: (h: HostRecord) => ({ label: h.name, host: h.address, port: 22, username: 'u', hostKeys: ['k'] }),
});

describe('fan-out exec', () => {
  it('given hosts that succeed, fail, are refused and hang, when run, then each gets its own row and the exit code is the most severe', async () => {
    const executor = scripted({
      ok: async () => ({ exitCode: 0, stdout: 'a\nb\nc\nd\n' }),
      fails: async () => ({ exitCode: 3 }),
      refused: async () => Promise.reject(new SecurityError('key changed', 'HOST_KEY_MISMATCH')),
      hangs: () => new Promise(() => undefined),
    });
    const rows = await fanoutExec(executor, ['ok', 'fails', 'refused', 'hangs'].map(host), 'true', options(300));
    const byHost = Object.fromEntries(rows.map((r) => [r.host, r]));
    expect(byHost.ok!.ok).to.equal(true);
    expect(byHost.ok!.stdout).to.deep.equal(['a', 'b', '… 2 more line(s)']);
    expect(byHost.fails!.exitCode).to.equal(3);
    expect(byHost.refused!.error!.code).to.equal('HOST_KEY_MISMATCH');
    expect(byHost.hangs!.error!.code).to.equal('SSH_TIMEOUT');
    expect(fanoutExitCode(rows)).to.equal(6);
  });

  it('given a host whose output was cut at the buffer limit, when rows are made, then the count of lines left out is a lower bound and says so', async () => {
    const executor = scripted({ flood: async () => ({ exitCode: 0, stdout: 'y\n'.repeat(100), truncated: true }) });
    const [row] = await fanoutExec(executor, [host('flood')], 'yes', options());
    expect(row!.truncated).to.equal(true);
    expect(row!.stdout).to.deep.equal(['y', 'y', '… at least 98 more line(s) (output cut short: not all of it was kept)']);
  });

  it('given unreachable and failing hosts, when the exit code is computed, then unreachable (5) outranks a failed command (1)', () => {
    const row = (ok: boolean, exitCode: number | null, error?: number) => ({
      host: 'h',
      address: 'a',
      ok,
      exitCode,
      signal: null,
      durationMs: 0,
      stdout: [],
      stderr: [],
      truncated: false,
      ...(error ? { error: { code: 'X', message: 'x', exitCode: error, actions: [] } } : {}),
    });
    expect(fanoutExitCode([row(true, 0)])).to.equal(0);
    expect(fanoutExitCode([row(true, 0), row(false, 2)])).to.equal(1);
    expect(fanoutExitCode([row(false, 2), row(false, null, 5)])).to.equal(5);
    expect(fanoutExitCode([row(false, null, 6), row(false, null, 5)])).to.equal(6);
  });

  it('given a concurrency of 2, when 6 hosts run, then never more than 2 run at once', async () => {
    let running = 0;
    let peak = 0;
    const slow = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return { exitCode: 0 };
    };
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const rows = await fanoutExec(scripted(Object.fromEntries(names.map((n) => [n, slow]))), names.map(host), 'true', { ...options(), concurrency: 2 });
    expect(rows).to.have.length(6);
    expect(peak).to.equal(2);
  });

  it('given a host that outlives the timeout, when the deadline passes, then the executor is told through its signal (SSH_TIMEOUT) before the row is made, and had no timer of its own', async () => {
    const seen: { options?: { timeoutMs?: number; signal?: AbortSignal }; abortedAt?: number } = {};
    const executor: RemoteExecutor = {
      exec: (_endpoint, _command, options) =>
        new Promise((_, reject) => {
          seen.options = options;
          // A real executor kills the remote command here; this one records when it was told.
          options?.signal?.addEventListener('abort', () => {
            seen.abortedAt = Date.now();
            reject(options.signal?.reason);
          });
        }),
    };
    const started = Date.now();
    const [row] = await fanoutExec(executor, [host('slow')], 'sleep 60', options(200));
    const rowAt = Date.now();
    expect(seen.options?.timeoutMs, 'a second timer races the signal').to.equal(undefined);
    expect(seen.abortedAt, 'the executor was never told the deadline passed').to.be.a('number');
    expect(seen.abortedAt!).to.be.at.most(rowAt);
    expect(seen.abortedAt! - started).to.be.within(190, 400);
    expect(row!.error!.code).to.equal('SSH_TIMEOUT');
    expect(row!.error!.message).to.include('slow').and.include('200 ms');
  });

  it("given a concurrency of 1, when hosts wait for their turn, then each one's timeout starts with its turn, not with the fan-out", async () => {
    const quick = () => new Promise<{ exitCode: number }>((resolve) => setTimeout(() => resolve({ exitCode: 0 }), 120));
    const rows = await fanoutExec(scripted({ a: quick, b: quick, c: quick }), ['a', 'b', 'c'].map(host), 'true', { ...options(200), concurrency: 1 });
    expect(rows.map((r) => r.ok)).to.deep.equal([true, true, true]);
  });
});
