import { parsePublicKeyLine } from '../../ssh/index.js';

const BEGIN = '-----BEGIN SSH HOST KEY KEYS-----';
const END = '-----END SSH HOST KEY KEYS-----';
/** Key types graft's SSH layer can verify. */
const USABLE = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);

/**
 * The host keys a VM printed on its console: the lines of the last complete
 * `-----BEGIN SSH HOST KEY KEYS-----` block, which cloud-init's ssh module (and graft's boot
 * script, see provisioners/cloud-init) print at first boot. Lines may carry a prefix (a
 * timestamp, `ec2: `, `cloud-init[123]: `) and CR line ends; both are stripped. Returns the
 * keys as `type base64` lines, or [] when no complete block is there yet (the VM is still
 * booting). The last block wins: a reboot prints the keys again, and they are the current ones.
 */
export function hostKeysFromConsole(text: string): string[] {
  const lines = text.split(/\r?\n/);
  let block: string[] | undefined;
  let current: string[] | undefined;
  for (const line of lines) {
    if (line.includes(BEGIN)) {
      current = [];
    } else if (line.includes(END)) {
      if (current) block = current;
      current = undefined;
    } else if (current) {
      current.push(line);
    }
  }
  if (!block) return [];
  const keys: string[] = [];
  for (const line of block) {
    const match = /(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa|ssh-dss)\s+([A-Za-z0-9+/]+={0,2})/.exec(line);
    if (!match || !USABLE.has(match[1]!)) continue;
    const key = `${match[1]} ${match[2]}`;
    try {
      parsePublicKeyLine(key);
    } catch {
      continue; // a line garbled on the console: never pin it
    }
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}
