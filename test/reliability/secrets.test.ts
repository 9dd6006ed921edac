/**
 * Secrets: `graft run`s grant random high-entropy values (from GRAFT_SECRETS_FILE and from the
 * environment) to tasks that echo them on stdout and stderr, commit them, send them as status,
 * messages and done/fail summaries over the channel, and fail with them. While the tasks run,
 * the process list of this machine (every host here is a local sshd) is sampled. Then every
 * file graft wrote under GRAFT_HOME, every output of graft's commands and every sampled process
 * line is searched for each value, as written and as JSON holds it: zero hits. One run goes
 * straight through; in the other the controller is killed while the task runs and resumed
 * without the values, which it must read back from the hosts to redact. What graft promises,
 * and what it does not (the branch's content is the agent's own work), is in docs/reliability.md.
 */
import { expect } from 'chai';
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GraftWorld, type CliRun } from '../helpers/cli.js';
import { git, graftIn, makeRunRoot, runEnvelope, writeGraphFile } from './graph-runs.js';
import { reportFigures } from './summary.js';

/** A value no text contains by chance; `awkward` adds quotes and a dollar, which the shell quoting of secrets.env must carry. */
const secretValue = (awkward = false) => `${randomBytes(18).toString('base64url')}${awkward ? `'"$x` : ''}`;
const both = '"$FILE_TOKEN $ENV_TOKEN"';
/** Secrets reach graft-agent on stdin: on its command line they would be in the agent's own process list, which is the agent's doing (docs/reliability.md). */
const say = (what: string) => `printf '%s %s %s' ${what} "$FILE_TOKEN" "$ENV_TOKEN" | graft-agent`;

/** Every regular file below `dir`. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesBelow(path) : entry.isFile() ? [path] : [];
  });
}

/** Samples `ps -eo args` until stopped: every distinct line seen. */
function sampleProcessLines(): { stop(): Promise<Set<string>> } {
  const lines = new Set<string>();
  let sampling = true;
  const done = (async () => {
    while (sampling) {
      const { stdout } = await promisify(execFile)('ps', ['-eo', 'args'], { maxBuffer: 16 * 1024 * 1024 });
      for (const line of stdout.split('\n')) lines.add(line);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    /** Stops sampling (again is harmless) and returns what was seen. */
    async stop() {
      sampling = false;
      await done;
      return lines;
    },
  };
}

describe('reliability: secret values stay out of everything graft writes and every process line', function () {
  this.timeout(300_000);
  let root: string;
  let repo: string;
  let world: GraftWorld;
  let secrets: Record<'FILE_TOKEN' | 'ENV_TOKEN', string>;

  beforeEach(() => {
    ({ root, repo } = makeRunRoot('graft-secrets-'));
    secrets = { FILE_TOKEN: secretValue(), ENV_TOKEN: secretValue(true) };
    const secretsFile = join(root, 'secrets.env');
    writeFileSync(secretsFile, `FILE_TOKEN=${secrets.FILE_TOKEN}\n`, { mode: 0o600 });
    world = new GraftWorld({ GRAFT_SECRETS_FILE: secretsFile, ENV_TOKEN: secrets.ENV_TOKEN, GRAFT_RETRY_BACKOFF: '100ms' });
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  /** What graft shows of the run afterwards, as a user would read it. */
  async function readBack(): Promise<Record<'status --json' | 'inbox --all --json' | 'logs leak', CliRun>> {
    return {
      'status --json': await graftIn(world, repo, ['status', '--json']),
      'inbox --all --json': await graftIn(world, repo, ['inbox', '--all', '--json']),
      'logs leak': await graftIn(world, repo, ['logs', 'leak']),
    };
  }

  /** Where a value was found: files under GRAFT_HOME, graft's outputs, process lines. Reports the figures. */
  function search(title: string, outputs: Record<string, CliRun>, processLines: Set<string>): string[] {
    const written = filesBelow(world.home);
    const hits: string[] = [];
    for (const [name, value] of Object.entries(secrets)) {
      // As written, and as a JSON string holds it (state rows, logs and --json output are JSON).
      const forms = [...new Set([value, JSON.stringify(value).slice(1, -1)])];
      const holds = (text: string | Buffer) => forms.some((form) => text.includes(form));
      for (const path of written) if (holds(readFileSync(path))) hits.push(`${name} in ${path.replace(world.home, 'GRAFT_HOME')}`);
      for (const [command, result] of Object.entries(outputs)) if (holds(result.stdout + result.stderr)) hits.push(`${name} in the output of graft ${command}`);
      for (const line of processLines) if (holds(line)) hits.push(`${name} in a process line: ${line.slice(0, 200)}`);
    }
    const bytes = written.reduce((sum, path) => sum + statSync(path).size, 0);
    reportFigures({
      title: `Secrets: ${title}`,
      columns: ['searched for 2 values', 'count', 'hits'],
      rows: [
        [
          'files under GRAFT_HOME (state.db, its WAL, graft.log, audit.jsonl, task logs ...)',
          `${written.length} (${bytes} bytes)`,
          hits.filter((h) => h.includes(' in GRAFT_HOME')).length,
        ],
        [
          `outputs of graft commands (${Object.keys(outputs).join(', ')})`,
          Object.keys(outputs).length,
          hits.filter((h) => h.includes('in the output of')).length,
        ],
        ['distinct process lines sampled while tasks ran (ps -eo args)', processLines.size, hits.filter((h) => h.includes('process line')).length],
      ],
    });
    expect(
      written.some((p) => p.endsWith('/tasks/leak/attempt-1.log')),
      'the task log was kept',
    ).to.equal(true);
    expect(
      [...processLines].some((line) => line.includes('graft-agent')),
      'the sampling saw the tasks at work',
    ).to.equal(true);
    return hits;
  }

  it('given tasks that echo, commit, report and fail with granted secrets, when the graph runs, then no file graft wrote, no graft output and no process line holds a value', async () => {
    const file = writeGraphFile(root, 'secrets.yaml', {
      base: 'main',
      hosts: { provisioner: 'local', count: 1, slots: 2 },
      agents: { sh: { harness: 'shell', secrets: ['FILE_TOKEN'] } },
      tasks: {
        leak: {
          agent: 'sh',
          secrets: ['ENV_TOKEN'],
          command: [
            `echo "on stdout: " ${both}`,
            `echo "on stderr: " ${both} >&2`,
            `printf '%s\\n' ${both} > SECRET.txt && git add SECRET.txt && git commit -qm "the agent's own work holds the secret"`,
            `${say('status')} status -`,
            `${say('to-human')} msg human -`,
            `${say('to-peer')} msg fail-with-it -`,
            // Long enough for the process list to be sampled while the secrets are in the environment.
            'sleep 2',
            `${say('done')} done -`,
          ].join('\n'),
        },
        'fail-with-it': { agent: 'sh', secrets: ['ENV_TOKEN'], command: `echo ${both} >&2\n${say('failing')} fail -\nexit 3` },
      },
    });
    const sampler = sampleProcessLines();
    const run = await graftIn(world, repo, ['run', file, '--json']).finally(() => sampler.stop());
    const processLines = await sampler.stop();
    expect(run.code, run.stderr).to.equal(1); // fail-with-it fails, as it says
    const session = runEnvelope(run).result!.session;
    expect(Object.fromEntries(runEnvelope(run).result!.tasks.map((t) => [t.name, t.state]))).to.deep.equal({ leak: 'succeeded', 'fail-with-it': 'failed' });
    // The tasks really had the values: the branch (the agent's own work, fetched as it is) holds them.
    expect(git(repo, 'show', `graft/${session}/leak:SECRET.txt`)).to.equal(`${secrets.FILE_TOKEN} ${secrets.ENV_TOKEN}`);
    const outputs = { 'run --json': run, ...(await readBack()), 'logs fail-with-it --json': await graftIn(world, repo, ['logs', 'fail-with-it', '--json']) };
    const down = await graftIn(world, repo, ['down', '--json']);
    expect(down.code, down.stderr).to.equal(0);

    expect(search('a full graft run', { ...outputs, 'down --json': down }, processLines)).to.deep.equal([]);
    // What was said is kept, without the values.
    expect(outputs['inbox --all --json']!.json!.result.entries.map((e: { body: string }) => e.body)).to.deep.equal(['to-human [redacted] [redacted]']);
    expect(outputs['logs leak']!.stdout).to.include('on stdout:  [redacted] [redacted]').and.include('on stderr:  [redacted] [redacted]');
    const records = outputs['status --json']!.json!.result.tasks.map((t: { name: string; status?: string; summary?: string; error?: string }) => [
      t.name,
      t.status,
      t.summary,
      t.error,
    ]);
    expect(records).to.deep.include(['leak', 'status [redacted] [redacted]', 'done [redacted] [redacted]', undefined]);
    expect(records.find((r: string[]) => r[0] === 'fail-with-it')[3]).to.equal('the agent reported failure: failing [redacted] [redacted]');
  });

  it('given a controller killed while a task with secrets runs, when resumed without the values in its environment, then it reads them back from the host and redacts what the task says and prints next', async () => {
    const go = join(root, 'go');
    const file = writeGraphFile(root, 'resume.yaml', {
      base: 'main',
      hosts: { provisioner: 'local', count: 1 },
      agents: { sh: { harness: 'shell', secrets: ['FILE_TOKEN', 'ENV_TOKEN'] } },
      tasks: {
        leak: {
          agent: 'sh',
          // Everything is said after the first controller is gone.
          command: [
            `while [ ! -f ${go} ]; do sleep 0.2; done`,
            `echo "on stdout: " ${both}`,
            `${say('status')} status -`,
            `${say('to-human')} msg human -`,
            'sleep 1',
            `${say('done')} done -`,
          ].join('\n'),
        },
      },
    });
    const sampler = sampleProcessLines();
    const first: ChildProcess = world.spawn(['run', file], repo);
    first.stdout!.resume();
    first.stderr!.resume();
    try {
      for (const deadline = Date.now() + 120_000; ;) {
        const status = await graftIn(world, repo, ['status', '--json']);
        if (status.code === 0 && status.json!.result.counts.running === 1) break;
        if (Date.now() > deadline) throw new Error(`the task never ran: ${status.stdout}${status.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      first.kill('SIGKILL');
      await new Promise((resolve) => (first.exitCode === null && first.signalCode === null ? first.once('exit', resolve) : resolve(undefined)));
    }
    writeFileSync(go, '');
    const resumed = await graftIn(world, repo, ['resume', '--json'], { GRAFT_SECRETS_FILE: '', ENV_TOKEN: '' }).finally(() => sampler.stop());
    const processLines = await sampler.stop();
    expect(resumed.code, resumed.stdout + resumed.stderr).to.equal(0);
    const outputs = { 'resume --json': resumed, ...(await readBack()) };
    expect(search('a controller killed mid-task and resumed without the values', outputs, processLines)).to.deep.equal([]);
    expect(outputs['inbox --all --json']!.json!.result.entries.map((e: { body: string }) => e.body)).to.deep.equal(['to-human [redacted] [redacted]']);
    expect(outputs['logs leak']!.stdout).to.include('on stdout:  [redacted] [redacted]');
  });
});
