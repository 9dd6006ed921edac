import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { sessionPaths } from '../runtime.js';
import type { ProvisionerFactory } from '../session/bring-up.js';
import { generateEd25519KeyPair, writeKeyPairFiles, type SshPool } from '../ssh/index.js';

/**
 * The production provisioner factory: builds the driver a session names, with what it
 * needs (the session admin key for local hosts, the inventory for static ones). Drivers are
 * loaded when named, so a command pays only for the one it uses (inventory parsing is not light).
 */
export function defaultProvisioners(pool: SshPool, knownHostsFile: string): ProvisionerFactory {
  return async (name, session) => {
    switch (name) {
      case 'local': {
        const keyFile = sessionPaths(session.dir).adminKey;
        await mkdir(session.dir, { recursive: true, mode: 0o700 });
        if (!existsSync(keyFile)) await writeKeyPairFiles(keyFile, generateEd25519KeyPair(`graft-admin@${session.id}`));
        const { LocalProvisioner } = await import('./local/local-provisioner.js');
        return { provisioner: new LocalProvisioner({ adminKeyFile: keyFile, adminPublicKey: readFileSync(`${keyFile}.pub`, 'utf8').trim() }) };
      }
      case 'static': {
        const [{ StaticProvisioner }, { TofuPins }] = await Promise.all([import('./static-provisioner.js'), import('./tofu-pins.js')]);
        const provisioner = new StaticProvisioner(pool, new TofuPins(knownHostsFile));
        const inventory = session.spec.inventory;
        return typeof inventory === 'string' ? { provisioner, requests: provisioner.load(inventory) } : { provisioner };
      }
      default:
        throw new UsageError(`the ${name} provisioner is not available in this version of graft`, ['Use --provisioner local, or --inventory FILE for your own machines.']);
    }
  };
}
