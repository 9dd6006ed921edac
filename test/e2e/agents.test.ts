import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { verifyAgentCertificate, verifyWorkloadJwt } from '../../src/core/identity/index.js';
import { generateEd25519KeyPair, SshPool } from '../../src/core/ssh/index.js';
import { GraftWorld } from '../helpers/cli.js';
import { accountExists } from '../helpers/sshd.js';

const run = promisify(execFile);
const secretValue = 'ghp_graftTestSecret_7f3a9c2e5b';

interface World {
  world: GraftWorld;
  session: string;
  hosts: { name: string; address: string; port: number; hostKeys: string[] }[];
}

/** Every file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('e2e: agents as isolated workers (local hosts, as root)', function () {
  this.timeout(120_000);
  let w: World;

  async function start(extra: string[] = []): Promise<World> {
    const world = new GraftWorld({ GITHUB_TOKEN: secretValue });
    const up = await world.run(['up', '--hosts', '2', '--json', ...extra]);
    expect(up.code, up.stderr).to.equal(0);
    return { world, session: up.json!.result.session, hosts: up.json!.result.hosts };
  }

  function keyFile(agent: string): string {
    return join(w.world.home, 'sessions', w.session, 'agents', agent, 'id_ed25519');
  }

  /** Logs in with an agent's key as `account`, straight through the SSH layer, and runs `true`. */
  async function tryLogin(agentKeyOf: string, account: string): Promise<string> {
    const host = w.hosts[0]!;
    const pool = new SshPool({ connectTimeoutMs: 5000 });
    try {
      await pool.exec(
        { label: 'probe', host: host.address, port: host.port, username: account, hostKeys: host.hostKeys, privateKey: readFileSync(keyFile(agentKeyOf)) },
        'true',
      );
      return 'accepted';
    } catch (error) {
      return (error as { code?: string }).code ?? 'error';
    } finally {
      await pool.closeAll();
    }
  }

  before(function () {
    if (process.getuid?.() !== 0) throw new Error('these tests create Unix accounts: run them as root (CI does)');
  });
  afterEach(async () => w && (await w.world.dispose()));

  it('given two agents on one host, then each runs as its own account and neither can log in as or read the other', async () => {
    w = await start();
    for (const name of ['alpha', 'beta']) expect((await w.world.run(['agent', 'create', name, '--on', 'local-01'])).code).to.equal(0);
    const accountOf = (name: string) => `graft-${w.session}-${name}`;

    const id = await w.world.run(['agent', 'exec', 'alpha', '--json', '--', 'id -un; stat -c %a "$HOME"']);
    expect(id.code, id.stderr).to.equal(0);
    expect(id.json!.result.stdout.trim().split('\n')).to.deep.equal([accountOf('alpha'), '700']);

    expect(await tryLogin('alpha', accountOf('alpha'))).to.equal('accepted');
    expect(await tryLogin('alpha', accountOf('beta'))).to.equal('SSH_AUTH');

    const peek = await w.world.run(['agent', 'exec', 'alpha', '--json', '--', `cat /home/${accountOf('beta')}/.graft/identity/key.pem`]);
    expect(peek.code).to.equal(1);
    expect(peek.json!.result.stderr).to.match(/Permission denied/);
    const sudo = await w.world.run(['agent', 'exec', 'alpha', '--json', '--', 'sudo -n true']);
    expect(sudo.code, 'agents get no sudo').to.equal(1);
  });

  it('given an agent, then its certificate verifies against the session CA with its SPIFFE id, and its key line carries restrict, from= and expiry-time=', async () => {
    w = await start();
    expect((await w.world.run(['agent', 'create', 'gamma'])).code).to.equal(0);
    const cert = await w.world.run(['agent', 'exec', 'gamma', '--json', '--', 'cat ~/.graft/identity/cert.pem; stat -c %a ~/.graft/identity/key.pem']);
    const [pem, mode] = [
      cert.json!.result.stdout.split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n',
      cert.json!.result.stdout.trim().split('\n').pop(),
    ];
    expect(mode).to.equal('600');
    const ca = readFileSync(join(w.world.home, 'sessions', w.session, 'identity', 'ca.cert.pem'), 'utf8');
    const identity = verifyAgentCertificate(ca, pem, { sessionId: w.session });
    expect(identity.agentName).to.equal('gamma');
    const keys = readFileSync(`/etc/graft/authorized_keys/graft-${w.session}-gamma`, 'utf8');
    expect(keys).to.match(/^restrict,from="127\.0\.0\.1",expiry-time="\d{14}Z" ssh-ed25519 /);
    expect(statSync(`/etc/graft/authorized_keys/graft-${w.session}-gamma`).uid, 'root owns the key line, not the agent').to.equal(0);

    // A JWT on request verifies against the JWKS that identity oidc exports.
    const issued = await w.world.run(['identity', 'token', 'gamma', '--audience', 'sts.amazonaws.com', '--json']);
    expect(issued.code, issued.stderr).to.equal(0);
    const out = join(w.world.home, 'issuer');
    const oidc = await w.world.run(['identity', 'oidc', '--out', out, '--json']);
    const token = (await w.world.run(['agent', 'exec', 'gamma', '--json', '--', 'cat ~/.graft/identity/token.jwt'])).json!.result.stdout.trim();
    const verified = await verifyWorkloadJwt(token, JSON.parse(readFileSync(oidc.json!.result.jwksFile, 'utf8')), {
      issuer: oidc.json!.result.issuer,
      audience: 'sts.amazonaws.com',
    });
    expect(verified.spiffeId).to.equal(identity.spiffeId);
    expect(issued.stdout).not.to.include(token);
  });

  it('given the same key from another source address, then sshd refuses it (from=)', async () => {
    w = await start();
    expect((await w.world.run(['agent', 'create', 'delta', '--on', 'local-01'])).code).to.equal(0);
    const host = w.hosts[0]!;
    const knownHosts = join(w.world.home, 'kh');
    await run('sh', ['-c', `printf '[%s]:%s %s\\n' ${host.address} ${host.port} '${host.hostKeys[0]}' > ${knownHosts}`]);
    const ssh = (source: string) =>
      run('ssh', [
        '-b',
        source,
        '-i',
        keyFile('delta'),
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-p',
        String(host.port),
        `graft-${w.session}-delta@${host.address}`,
        'echo in',
      ]).then(
        (r) => r.stdout.trim(),
        () => 'refused',
      );
    expect(await ssh('127.0.0.1')).to.equal('in');
    expect(await ssh('127.0.0.9')).to.equal('refused');
    // Refused for the reason under test, not for another one.
    const log = readFileSync(join(w.world.home, 'sessions', w.session, 'hosts', 'local-01', 'sshd.log'), 'utf8');
    expect(log).to.match(/correct key but not from a permitted host \(host=127\.0\.0\.9, ip=127\.0\.0\.9, required=127\.0\.0\.1\)/);
  });

  it('given a hostile agent, then it cannot lift its key restrictions, add its own key, or make graft write outside its home', async () => {
    w = await start();
    expect((await w.world.run(['agent', 'create', 'mal', '--on', 'local-01'])).code).to.equal(0);
    const account = `graft-${w.session}-mal`;
    const edit = await w.world.run(['agent', 'exec', 'mal', '--json', '--', `echo x >> /etc/graft/authorized_keys/${account}`]);
    expect(edit.json!.result.stderr).to.match(/Permission denied/);

    // A key the agent installs in its own ~/.ssh is not one sshd reads for it.
    const own = generateEd25519KeyPair('own');
    await w.world.run(['agent', 'exec', 'mal', '--', `mkdir -p ~/.ssh && echo '${own.publicKey}' > ~/.ssh/authorized_keys`]);
    const host = w.hosts[0]!;
    const pool = new SshPool({ connectTimeoutMs: 5000 });
    const outcome = await pool
      .exec({ label: 'own', host: host.address, port: host.port, username: account, hostKeys: host.hostKeys, privateKey: own.privateKey }, 'true')
      .then(
        () => 'accepted',
        (e) => e.code,
      );
    await pool.closeAll();
    expect(outcome).to.equal('SSH_AUTH');

    // A symlink planted where graft writes leads nowhere the agent could not write itself.
    const victim = mkdtempSync(join(tmpdir(), 'graft-victim-'));
    chmodSync(victim, 0o755);
    await w.world.run(['agent', 'exec', 'mal', '--', `rm -rf ~/.graft/identity && ln -s ${victim} ~/.graft/identity`]);
    const token = await w.world.run(['identity', 'token', 'mal', '--audience', 'x']);
    expect(token.code).to.not.equal(0);
    expect(statSync(victim).uid).to.equal(0);
    expect(readdirSync(victim)).to.deep.equal([]);
    rmSync(victim, { recursive: true, force: true });
  });

  it('given an agent that left files in /tmp, when it is removed, then they go with it and its uid is not handed to the next agent', async () => {
    w = await start();
    expect((await w.world.run(['agent', 'create', 'old', '--on', 'local-01'])).code).to.equal(0);
    const uid = (
      await w.world.run([
        'agent',
        'exec',
        'old',
        '--json',
        '--',
        'id -u; touch /tmp/graft-left-$(id -u); cp /bin/sh /var/tmp/graft-sh-$(id -u); chmod u+s /var/tmp/graft-sh-$(id -u)',
      ])
    ).json!.result.stdout.trim();
    expect((await w.world.run(['agent', 'rm', 'old'])).code).to.equal(0);
    expect(existsSync(`/tmp/graft-left-${uid}`)).to.equal(false);
    expect(existsSync(`/var/tmp/graft-sh-${uid}`)).to.equal(false);
    expect((await w.world.run(['agent', 'create', 'new', '--on', 'local-01'])).code).to.equal(0);
    const next = (await w.world.run(['agent', 'exec', 'new', '--json', '--', 'id -u'])).json!.result.stdout.trim();
    expect(next).to.not.equal(uid);
  });

  it("given provision calls for one agent at once (a killed controller's call still running on the host when resume makes the agent again), then every call succeeds with the same account", async () => {
    w = await start();
    expect((await w.world.run(['agent', 'create', 'first', '--on', 'local-01'])).code).to.equal(0);
    const account = `graft-${w.session}-twin`;
    const calls = Array.from(
      { length: 4 },
      (_, i) =>
        `(printf 'restrict ssh-ed25519 AAAA twin\\n' | sudo -n sh "$tool" provision ${account} > /tmp/graft-twin-${i}.out 2>&1; echo "call ${i}: $?"; cat /tmp/graft-twin-${i}.out; rm -f /tmp/graft-twin-${i}.out) &`,
    );
    const script = `tool=$(ls .graft/bin/agent-account-*.sh); ${calls.join(' ')} wait`;
    const provisioned = await w.world.run(['exec', '--on', 'local-01', '--lines', '200', '--json', '--', script]);
    const out = (provisioned.json!.result.hosts[0].stdout as string[]).join('\n');
    expect(out.match(/^call \d: \d+$/gm)?.sort(), out).to.deep.equal(['call 0: 0', 'call 1: 0', 'call 2: 0', 'call 3: 0']);
    expect(out).to.not.match(/already exists/);
    expect(accountExists(account)).to.equal(true);
    const entries = (await run('getent', ['passwd'])).stdout.split('\n').filter((line) => line.startsWith(`${account}:`));
    expect(entries).to.have.length(1);
    await run('userdel', ['-r', account]);
  });

  it('given agent rm, then its key is refused and its account is gone; repeating rm is harmless', async () => {
    w = await start();
    expect((await w.world.run(['agent', 'create', 'eps', '--on', 'local-01'])).code).to.equal(0);
    const keyCopy = readFileSync(keyFile('eps'));
    const rm = await w.world.run(['agent', 'rm', 'eps', '--json']);
    expect(rm.json!.result.removed).to.equal(true);
    expect(accountExists(`graft-${w.session}-eps`)).to.equal(false);
    const host = w.hosts[0]!;
    const pool = new SshPool({ connectTimeoutMs: 5000 });
    const outcome = await pool
      .exec({ label: 'probe', host: host.address, port: host.port, username: `graft-${w.session}-eps`, hostKeys: host.hostKeys, privateKey: keyCopy }, 'true')
      .then(
        () => 'accepted',
        (e) => e.code,
      );
    await pool.closeAll();
    expect(outcome).to.equal('SSH_AUTH');
    const again = await w.world.run(['agent', 'rm', 'eps', '--json']);
    expect(again.code).to.equal(0);
    expect(again.json!.result.removed).to.equal(false);
  });

  it('given a session whose end has passed, then sshd refuses the agent key (expiry-time=)', async () => {
    w = await start(['--ttl', '8s']);
    const created = await w.world.run(['agent', 'create', 'zeta', '--json']);
    expect(created.code, created.stderr).to.equal(0);
    expect((await w.world.run(['agent', 'exec', 'zeta', '--', 'true'])).code).to.equal(0);
    // Wait until sshd's clock has passed the key's expiry-time (whole seconds, so one more).
    const expiry = Date.parse(created.json!.result.agent.keyExpiresAt);
    await new Promise((r) => setTimeout(r, Math.max(0, expiry - Date.now()) + 1500));
    const late = await w.world.run(['agent', 'exec', 'zeta', '--', 'true']);
    expect(late.code).to.equal(5);
    expect(late.stderr).to.match(/Authentication/);
  });

  it('given a granted secret, then the agent sees it and its value is in no file graft wrote, no --json output and no process list', async () => {
    w = await start();
    const create = await w.world.run(['agent', 'create', 'eta', '--secret', 'GITHUB_TOKEN', '--json']);
    expect(create.code, create.stderr).to.equal(0);
    const outputs = [create.stdout, create.stderr];
    const seen = await w.world.run([
      'agent',
      'exec',
      'eta',
      '--json',
      '--',
      'test "$GITHUB_TOKEN" = "$(cat ~/.graft/secrets/GITHUB_TOKEN)" && echo same; stat -c %a ~/.graft/secrets/GITHUB_TOKEN',
    ]);
    expect(seen.json!.result.stdout.trim().split('\n')).to.deep.equal(['same', '600']);
    // A command that prints the secret: its output is redacted on the way out.
    const echoed = await w.world.run(['agent', 'exec', 'eta', '--json', '--', 'echo "token=$GITHUB_TOKEN"; echo "$GITHUB_TOKEN" >&2']);
    expect(echoed.json!.result.stdout).to.equal('token=[redacted]\n');
    outputs.push(echoed.stdout, echoed.stderr, (await w.world.run(['agent', 'exec', 'eta', '--', 'echo $GITHUB_TOKEN'])).stdout);
    // A process of the agent is running with the secret in its environment while we look.
    const long = w.world.spawn(['agent', 'exec', 'eta', '--', 'sleep 3']);
    await new Promise((r) => setTimeout(r, 1500));
    const ps = await run('ps', ['-eo', 'args']);
    await new Promise((r) => long.once('exit', r));
    expect(ps.stdout).to.include('sleep 3');
    expect(ps.stdout).not.to.include(secretValue);
    for (const cmd of [
      ['agent', 'ls', '--json'],
      ['hosts', '--json'],
      ['identity', 'show', 'eta', '--json'],
    ])
      outputs.push((await w.world.run(cmd)).stdout);
    // Every file graft wrote, before down removes any of them (sshd logs, agents' keys), and after.
    for (const file of filesUnder(w.world.home)) expect(readFileSync(file).includes(secretValue), file).to.equal(false);
    await w.world.run(['down']);
    for (const output of outputs) expect(output).not.to.include(secretValue);
    for (const file of filesUnder(w.world.home)) expect(readFileSync(file).includes(secretValue), file).to.equal(false);
  });

  it('given hostile agent names, then each is refused with a usage error and nothing is created', async () => {
    w = await start();
    for (const name of ['a;rm -rf ~', '$(id)', "o'brien", 'ünï', 'UPPER', '-rf', 'a/../../etc', 'x'.repeat(40)]) {
      const create = await w.world.run(['agent', 'create', name, '--json']);
      expect(create.code, name).to.equal(2);
      expect(create.json!.error!.code).to.equal('USAGE');
    }
    const listed = await w.world.run(['agent', 'ls', '--all', '--json']);
    expect(listed.json!.result.agents).to.deep.equal([]);
    const accounts = (await run('getent', ['passwd'])).stdout.split('\n').filter((l) => l.startsWith(`graft-${w.session}-`));
    expect(accounts).to.deep.equal([]);
  });

  it('given down, then every agent account of the session is gone', async () => {
    w = await start();
    for (const name of ['one', 'two']) expect((await w.world.run(['agent', 'create', name])).code).to.equal(0);
    expect((await w.world.run(['down'])).code).to.equal(0);
    for (const name of ['one', 'two']) expect(accountExists(`graft-${w.session}-${name}`)).to.equal(false);
    const agents = await w.world.run(['agent', 'ls', '--all', '--session', w.session, '--json']);
    expect(agents.json!.result.agents.map((a: { state: string }) => a.state)).to.deep.equal(['removed', 'removed']);
  });
});
