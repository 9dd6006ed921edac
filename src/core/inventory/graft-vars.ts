/**
 * The inventory variables graft reads: Ansible's connection variables and
 * graft's own `graft_*` ones (kept as plain variables so the same file still
 * works with Ansible). One strict zod schema is the source of their types; it
 * accepts values the way Ansible writes them (INI gives `"yes"` for booleans,
 * quoted numbers arrive as strings) and refuses unknown `graft_*` names, which
 * are almost always typos.
 */
import { z } from 'zod';
import { labelPattern } from './labels.js';

const got = (what: string) => (issue: { input?: unknown }) => `${what}, got ${JSON.stringify(issue.input)}`;

// Ansible's `boolean()` filter: these spellings (any case) and 1/0 are booleans.
const TRUE_WORDS = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE_WORDS = new Set(['n', 'no', 'off', '0', 'false', 'f']);

const ansibleBoolean = z.union([z.boolean(), z.number(), z.string()]).transform((v, ctx) => {
  const word = String(v).toLowerCase();
  if (v === true || TRUE_WORDS.has(word)) return true;
  if (v === false || FALSE_WORDS.has(word)) return false;
  ctx.addIssue({ code: 'custom', message: `expected a boolean (true/false, yes/no), got ${JSON.stringify(v)}` });
  return z.NEVER;
});

const wholeNumber = (what: string, min: number, max: number) =>
  z
    .union(
      [
        z.number(),
        z
          .string()
          .regex(/^\s*\d+\s*$/)
          .transform(Number),
      ],
      { error: got(`expected ${what}`) },
    )
    .pipe(
      z
        .int({ error: got(`expected ${what}`) })
        .min(min, { error: got(`expected ${what}`) })
        .max(max, { error: got(`expected ${what}`) }),
    );

const nonEmptyString = (what: string) =>
  z
    .string({ error: got(`expected ${what}`) })
    .trim()
    .min(1, { error: got(`expected ${what}`) });

const port = wholeNumber('a port number from 1 to 65535', 1, 65535);

/** Labels are selector terms (`--on gpu`), so they may not hold the pattern operators `: , & ! *`. */
const labels = z
  .union([z.string(), z.array(z.string({ error: got('expected every label to be a string') }))], {
    error: got('expected a list of labels or a comma-separated string'),
  })
  .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter((s) => s !== ''))
  .pipe(z.array(z.string().regex(labelPattern, { error: got('expected labels of letters, digits and _ . - / = (no spaces, ":", ",", "&", "!" or "*")') })));

const HOST_KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/** `type base64 [comment]` → `type base64`, or why it is not an OpenSSH public key line. */
export function parseHostKeyLine(line: string): { key: string } | { error: string } {
  const [type, blob] = line.trim().split(/\s+/);
  if (!type || !blob || !HOST_KEY_TYPES.has(type)) {
    return { error: `expected an OpenSSH public key line "type base64" with type one of ${[...HOST_KEY_TYPES].join(', ')}, got ${JSON.stringify(line)}` };
  }
  const bytes = Buffer.from(blob, 'base64');
  // The key blob starts with its own type as a length-prefixed string; a mismatch means a damaged or pasted-wrong key.
  const inner = bytes.length > 4 ? bytes.subarray(4, 4 + bytes.readUInt32BE(0)).toString('latin1') : '';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || inner !== type)
    return { error: `the base64 part of the ${type} key is damaged: it does not encode a ${type} key` };
  return { key: `${type} ${blob}` };
}

const hostKeys = z
  .union([z.string(), z.array(z.string({ error: got('expected every host key to be a string') }))], {
    error: got('expected an OpenSSH public key line or a list of them'),
  })
  .transform((v, ctx) => {
    const lines = (typeof v === 'string' ? [v] : v).flatMap((s) => s.split(/\r?\n/)).filter((s) => s.trim() !== '' && !s.trim().startsWith('#'));
    const keys: string[] = [];
    for (const line of lines) {
      const parsed = parseHostKeyLine(line);
      if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
      else if (!keys.includes(parsed.key)) keys.push(parsed.key);
    }
    return keys;
  });

/** Every inventory variable graft reads, all optional; unknown `graft_*` names are refused. */
export const graftHostVarsSchema = z
  .strictObject({
    ansible_host: nonEmptyString('a host name or address'),
    ansible_ssh_host: nonEmptyString('a host name or address'),
    ansible_port: port,
    ansible_ssh_port: port,
    ansible_user: nonEmptyString('a user name'),
    ansible_ssh_user: nonEmptyString('a user name'),
    ansible_ssh_private_key_file: nonEmptyString('a path to a private key file'),
    ansible_private_key_file: nonEmptyString('a path to a private key file'),
    ansible_become: ansibleBoolean,
    ansible_ssh_common_args: z.string({ error: got('expected ssh command-line options as a string') }),
    ansible_ssh_extra_args: z.string({ error: got('expected ssh command-line options as a string') }),
    graft_slots: wholeNumber('a whole number ≥ 1', 1, 10_000),
    graft_labels: labels,
    graft_host_key: hostKeys,
    graft_known_hosts: nonEmptyString('a path to a known_hosts file'),
    graft_jump: nonEmptyString('jump hosts as [user@]host[:port], comma-separated (ProxyJump syntax)'),
    graft_host_key_policy: z.enum(['pinned', 'tofu'], { error: got('expected "pinned" or "tofu"') }),
    graft_isolation: z.enum(['accounts', 'shared-account'], { error: got('expected "accounts" or "shared-account"') }),
    graft_process_privacy: ansibleBoolean,
  })
  .partial();

/** The validated variables of one host. */
export type GraftHostVars = z.infer<typeof graftHostVarsSchema>;

/** The variables of `vars` that the schema judges: the ones it knows and every `graft_*` name. */
export function pickGraftHostVars(vars: Record<string, unknown>): Record<string, unknown> {
  const known = graftHostVarsSchema.shape;
  // Own keys only: `constructor` or `toString` are ordinary variable names, not the schema's.
  return Object.fromEntries(Object.entries(vars).filter(([k]) => Object.hasOwn(known, k) || k.startsWith('graft_')));
}

/** Names graft knows, for "did you mean" style hints. */
export const KNOWN_GRAFT_VARS = Object.keys(graftHostVarsSchema.shape).filter((k) => k.startsWith('graft_'));
