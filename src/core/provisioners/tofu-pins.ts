import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { knownHostKeys, knownHostsName } from '../inventory/index.js';
import { scanHostKey } from '../ssh/index.js';

/**
 * Keys graft trusted on first use, kept in GRAFT_HOME/known_hosts (OpenSSH's format) so that
 * "first use" happens once: every later session verifies against the recorded key, and a host
 * whose key changed is refused like any pinned host.
 */
export class TofuPins {
  constructor(private readonly file: string) {}

  /** The recorded keys for address:port, or none yet. */
  recorded(address: string, port: number): string[] {
    if (!existsSync(this.file)) return [];
    return knownHostKeys(readFileSync(this.file, 'utf8'), [knownHostsName(address, port)]);
  }

  /** Reads the key the host presents and records it. */
  async trust(address: string, port: number, timeoutMs: number): Promise<string> {
    const key = await scanHostKey(address, port, timeoutMs);
    appendFileSync(this.file, `${knownHostsName(address, port)} ${key}\n`, { mode: 0o600 });
    return key;
  }
}
