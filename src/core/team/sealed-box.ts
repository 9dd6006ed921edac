import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StateError } from '../errors.js';

/**
 * AES-256-GCM with a fresh 96-bit nonce per seal. `context` (the session and the file's path) is
 * authenticated with the data, so a sealed file moved to another row does not open.
 * Text form: `v1.` + base64(nonce ‖ tag ‖ ciphertext).
 */
export function seal(key: Buffer, plain: Buffer, context: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return `v1.${Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64')}`;
}

export function unseal(key: Buffer, sealed: string, context: string): Buffer {
  if (!sealed.startsWith('v1.')) throw new StateError(`${context}: sealed by a newer graft (it does not start with v1.)`, { actions: ['Upgrade graft.'] });
  const raw = Buffer.from(sealed.slice(3), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12)).setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  } catch {
    throw new StateError(`${context}: the team key does not open it (another team's key, or the row was altered)`, {
      actions: ['Check GRAFT_TEAM_KEY (or GRAFT_TEAM_KEY_FILE): it must be the key the session was started with.'],
    });
  }
}
