/**
 * Hostile input, part two: text from a graph file never reaches a shell as code. Names carrying
 * shell metacharacters are refused before anything starts; prompts, agent args, model names and
 * the text agents send over the channel travel as data (files, stdin, quoted words) through real
 * `graft run`s on this machine — local hosts with an account per agent, and inventory hosts whose
 * PATH holds a stand-in `claude` — and no payload that would run `touch MARK-…` if it were
 * evaluated touches its MARK. What each payload became is read back from the branches.
 *
 * The MARK files exist beforehand, owned by root, writable by all, with an old modification
 * time: a payload that ran shows as a changed time. (A MARK an agent created would be its own
 * file, and revoking the agent deletes its files in /tmp: "not there" would prove nothing.)
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateKeyFile } from '../../src/core/ssh/index.js';
import { GraftWorld } from '../helpers/cli.js';
import { useSshdFleet } from '../helpers/sshd.js';
import { git, graftIn, makeRunRoot, runEnvelope, writeGraphFile } from './graph-runs.js';
import { reportFigures } from './summary.js';

/** Every MARK file lives in one directory of its own. */
const markDir = join('/tmp', `graft-marks-${process.pid}-${Date.now()}`);
const mark = (id: string) => join(markDir, `MARK-${id}`);
/** The modification time every MARK is armed with (2001): a payload that ran sets it to now. */
const armedTime = 1_000_000_000;

/** Each payload runs `touch` on its MARK wherever a shell evaluates it instead of passing it on as data. */
const payloadForms: [string, (mark: string) => string][] = [
  ['dollar', (m) => `$(touch ${m})`],
  ['backtick', (m) => `\`touch ${m}\``],
  ['semicolon', (m) => `; touch ${m}`],
  ['pipe', (m) => `| touch ${m}`],
  ['and', (m) => `&& touch ${m} ||`],
  ['newline', (m) => `x\ntouch ${m}\n`],
  ['single', (m) => `'; touch ${m}; '`],
  ['double', (m) => `"; touch ${m}; "`],
  ['escaped', (m) => `\\"; touch ${m}; #`],
  ['ifs', (m) => `$(touch${'${IFS}'}${m})`],
  ['option', (m) => `--x=$(touch ${m})`],
  ['redirect', (m) => `> ${m}`],
];

/** The payloads of one place in the graph (`tag`), their MARK files armed. */
function payloads(tag: string): string[] {
  return payloadForms.map(([id, form]) => form(arm(`${tag}-${id}`)));
}

/** Creates MARK-<id> (root's, writable by all) with the armed time, once; returns its path. */
function arm(id: string): string {
  const path = mark(id);
  writeFileSync(path, '', { flag: 'a', mode: 0o666 });
  chmodSync(path, 0o666);
  utimesSync(path, armedTime, armedTime);
  return path;
}

/** MARK files a payload touched (or made). */
function touchedMarks(): string[] {
  return readdirSync(markDir).filter((name) => statSync(join(markDir, name)).mtimeMs !== armedTime * 1000);
}
/** The same payloads in one block of text, for prompts and channel messages. */
const payloadText = (tag: string) => `Do the task.\n${payloads(tag).join('\n')}\nThe end.`;

const figures: (string | number)[][] = [];

describe('reliability: shell metacharacters in graphs never execute', function () {
  this.timeout(300_000);
  let world: GraftWorld;
  let root: string;
  let repo: string;

  before(() => {
    mkdirSync(markDir, { mode: 0o777 });
    chmodSync(markDir, 0o777); // agents run as their own accounts: a payload that ran must be able to leave its mark
  });
  beforeEach(() => {
    ({ root, repo } = makeRunRoot('graft-meta-'));
    world = new GraftWorld({ GRAFT_RETRY_BACKOFF: '100ms' });
  });
  afterEach(async () => {
    await world.dispose();
    rmSync(root, { recursive: true, force: true });
  });
  after(() => {
    reportFigures({
      title: 'Hostile input: shell metacharacters through graft run',
      columns: ['where the payloads went', 'payloads', 'MARK files made'],
      rows: figures,
    });
    rmSync(markDir, { recursive: true, force: true });
  });

  it('given task, agent and needs names and a base carrying metacharacters, when checked and run, then the graph is refused with exit 3 and nothing starts', async () => {
    const names = payloads('name');
    const tasks: Record<string, unknown> = { ok: { agent: 'sh', needs: names } };
    names.forEach((name, i) => (tasks[name] = { agent: i % 2 === 0 ? name : 'sh' }));
    const file = writeGraphFile(root, 'names.yaml', {
      hosts: { provisioner: 'local', count: 1 },
      agents: { sh: { harness: 'shell', command: 'true' }, [names[0]!]: { harness: 'shell', command: 'true' } },
      tasks,
    });
    for (const command of [
      ['graph', 'check', file],
      ['run', file],
    ]) {
      const result = await graftIn(world, repo, command);
      expect(result.code, `${command.join(' ')}: ${result.stderr}`).to.equal(3);
      expect(result.stderr).not.to.match(/\n\s+at /);
      for (const name of names)
        expect(result.stderr, name).to.include(`task name ${JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)} is not allowed`);
    }
    // A base is a commit-ish, looked up with git's own argument list, never through a shell.
    const base = writeGraphFile(root, 'base.yaml', {
      base: `$(touch${'${IFS}'}${mark('base')})`,
      hosts: { provisioner: 'local', count: 1 },
      agents: { sh: { harness: 'shell', command: 'true' } },
      tasks: { a: { agent: 'sh' } },
    });
    const refused = await graftIn(world, repo, ['run', base]);
    expect(refused.code, refused.stderr).to.equal(2);
    expect(refused.stderr).to.include('does not name a commit');
    expect((await graftIn(world, repo, ['sessions', '--json'])).json!.result.sessions).to.deep.equal([]);
    expect(touchedMarks()).to.deep.equal([]);
    figures.push(['task, agent and needs names (refused), base', names.length * 3 + 1, touchedMarks().length]);
  });

  it('given prompts, commands, agent args and channel text carrying metacharacters, when run on a local host, then each arrives verbatim and none executes', async () => {
    const args = payloads('arg');
    const prompt = payloadText('prompt');
    const file = writeGraphFile(root, 'payloads.yaml', {
      base: 'main',
      hosts: { provisioner: 'local', count: 1, slots: 2 },
      agents: { sh: { harness: 'shell', args }, plain: { harness: 'shell' } },
      tasks: {
        verbatim: {
          agent: 'sh',
          prompt,
          // The prompt file and the positional parameters, written out as data; the prompt also goes over the channel.
          command: [
            'cp "$GRAFT_PROMPT_FILE" PROMPT',
            'for a in "$@"; do printf "%s\\0" "$a"; done > ARGS',
            'graft-agent status - < "$GRAFT_PROMPT_FILE"',
            'graft-agent msg human - < "$GRAFT_PROMPT_FILE"',
            'git add PROMPT ARGS && git commit -qm verbatim',
          ].join('\n'),
        },
        // A command is the user's own shell code, run once as written: payloads quoted in it stay text.
        quoted: {
          agent: 'plain',
          command: `printf '%s\\n' ${payloads('command')
            .map((p) => `'${p.replaceAll("'", `'\\''`)}'`)
            .join(' ')} > QUOTED && git add QUOTED && git commit -qm quoted`,
        },
        // The control: a payload that is meant to run does leave its MARK, so an empty directory means something.
        control: { agent: 'plain', command: `touch ${arm('control')}` },
      },
    });
    const result = await graftIn(world, repo, ['run', file, '--json']);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    const session = runEnvelope(result).result!.session;
    const show = (task: string, path: string) => git(repo, 'show', `graft/${session}/${task}:${path}`);
    expect(show('verbatim', 'PROMPT')).to.equal(prompt.trimEnd());
    expect(git(repo, 'cat-file', 'blob', `graft/${session}/verbatim:ARGS`).split('\0').slice(0, -1)).to.deep.equal(args);
    expect(show('quoted', 'QUOTED')).to.equal(payloads('command').join('\n').trimEnd());
    // The channel keeps the text as sent (command substitution in the helper drops trailing newlines only).
    const inbox = await graftIn(world, repo, ['inbox', '--all', '--json']);
    expect(inbox.json!.result.entries.map((e: { body: string }) => e.body)).to.deep.equal([prompt]);
    const status = await graftIn(world, repo, ['status', '--json']);
    expect(status.json!.result.tasks.find((t: { name: string }) => t.name === 'verbatim').status).to.equal(prompt);
    // Names that are JavaScript's own object members are no tasks of the run.
    for (const command of [
      ['logs', 'constructor'],
      ['approve', 'constructor'],
      ['message', 'toString', 'hi'],
    ]) {
      const lookup = await graftIn(world, repo, command);
      expect(lookup.code, `${command.join(' ')}: ${lookup.stderr}`).to.equal(4);
    }
    expect(touchedMarks()).to.deep.equal(['MARK-control']);
    rmSync(mark('control'));
    figures.push([
      'prompt file, agent args, command text, graft-agent status/msg (local host, own accounts)',
      args.length + payloads('prompt').length * 3 + payloads('command').length,
      touchedMarks().length,
    ]);
  });

  describe('on inventory hosts whose PATH holds a stand-in claude', function () {
    const stubDir = join('/tmp', `graft-stub-claude-${process.pid}-${Date.now()}`);
    const hosts = useSshdFleet(1, { sshd: { extraConfig: [`SetEnv PATH=${stubDir}:/usr/local/bin:/usr/bin:/bin`] } });
    before(() => {
      mkdirSync(stubDir, { mode: 0o755 });
      // Records its argv and stdin into the worktree and commits them: the branch brings them back.
      // It also touches a MARK of its own, the control that shows a touch by this agent is seen.
      const control = `touch ${arm('stub-control')}\n`;
      writeFileSync(
        join(stubDir, 'claude'),
        `#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done > ARGV\ncat > STDIN\ncp "$GRAFT_PROMPT_FILE" PROMPT\ngit add ARGV STDIN PROMPT && git commit -qm claude\n${control}`,
        { mode: 0o755 },
      );
    });
    after(() => rmSync(stubDir, { recursive: true, force: true }));

    it('given a claude agent whose model, args and prompt carry metacharacters, when run, then claude gets each as one word or as stdin, verbatim, and none executes', async () => {
      await writePrivateKeyFile(join(root, 'admin_key'), hosts.fleet.clientKey.privateKey);
      const endpoint = hosts.fleet.endpoints[0]!;
      writeGraphFile(root, 'hosts.yaml', {
        all: {
          hosts: {
            h1: {
              ansible_host: endpoint.host,
              ansible_port: endpoint.port,
              ansible_user: hosts.fleet.loginUser,
              ansible_ssh_private_key_file: 'admin_key',
              graft_host_key: hosts.fleet.hosts[0]!.sshd.hostPublicKey,
              graft_slots: 2,
            },
          },
        },
      });
      const [model, ...args] = payloads('llm');
      const prompt = payloadText('llm-prompt');
      const file = writeGraphFile(root, 'llm.yaml', {
        base: 'main',
        hosts: { inventory: 'hosts.yaml' },
        agents: { llm: { harness: 'claude', model, args } },
        tasks: { think: { agent: 'llm', prompt } },
      });
      const result = await graftIn(world, repo, ['run', file, '--json']);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      const session = runEnvelope(result).result!.session;
      const argv = git(repo, 'cat-file', 'blob', `graft/${session}/think:ARGV`).split('\0').slice(0, -1);
      expect(argv).to.deep.equal(['-p', '--permission-mode', 'bypassPermissions', '--model', model, ...args]);
      const written = git(repo, 'show', `graft/${session}/think:PROMPT`);
      expect(written).to.include(prompt);
      expect(git(repo, 'show', `graft/${session}/think:STDIN`)).to.equal(written);
      expect((await graftIn(world, repo, ['down', '--json'])).code).to.equal(0);
      expect(touchedMarks()).to.deep.equal(['MARK-stub-control']);
      rmSync(mark('stub-control'));
      figures.push([
        'claude model and args (argv), prompt (file and stdin) (inventory host)',
        1 + args.length + payloads('llm-prompt').length,
        touchedMarks().length,
      ]);
    });
  });
});
