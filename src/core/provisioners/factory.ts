import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';
import { sessionLayout } from '../session-layout.js';
import type { ProvisionerFactory } from './provisioner.js';
import { generateEd25519KeyPair, writeKeyPairFiles, type SshPool } from '../ssh/index.js';

/**
 * The production provisioner factory: builds the driver a session names, with what it
 * needs (the session admin key for local hosts, the inventory for static ones). Drivers are
 * loaded when named, so a command pays only for the one it uses (inventory parsing is not light).
 */
export function defaultProvisioners(pool: SshPool, knownHostsFile: string, options: { home?: string; env?: NodeJS.ProcessEnv } = {}): ProvisionerFactory {
  return async (name, session) => {
    switch (name) {
      case 'local': {
        const { LocalProvisioner } = await import('./local/local-provisioner.js');
        return { provisioner: new LocalProvisioner(await sessionAdminKey(session)) };
      }
      case 'ec2':
      case 'gce': {
        const { cloudProvisioner } = await import('./cloud-factory.js');
        const home = options.home ?? dirname(knownHostsFile);
        return {
          provisioner: await cloudProvisioner(name, session.spec, { pool, home, env: options.env ?? process.env, ...(await sessionAdminKey(session)) }),
        };
      }
      case 'static': {
        const [{ StaticProvisioner }, { TofuPins }] = await Promise.all([import('./static-provisioner.js'), import('./tofu-pins.js')]);
        const provisioner = new StaticProvisioner(pool, new TofuPins(knownHostsFile));
        const inventory = session.spec.inventory;
        return typeof inventory === 'string'
          ? { provisioner, requests: provisioner.load(inventory, { trustOnFirstUse: session.spec.tofu === true }) }
          : { provisioner };
      }
      default:
        throw new UsageError(`the ${name} provisioner is not available in this version of graft`, [
          'Use --provisioner local, or --inventory FILE for your own machines.',
        ]);
    }
  };
}

/** The session's admin key pair (`sessions/<id>/admin_ed25519`), made on first use. */
export async function sessionAdminKey(session: { id: string; dir: string }): Promise<{ adminKeyFile: string; adminPublicKey: string }> {
  const keyFile = sessionLayout(session.dir).adminKey;
  await mkdir(session.dir, { recursive: true, mode: 0o700 });
  if (!existsSync(keyFile)) await writeKeyPairFiles(keyFile, generateEd25519KeyPair(`graft-admin@${session.id}`));
  return { adminKeyFile: keyFile, adminPublicKey: readFileSync(`${keyFile}.pub`, 'utf8').trim() };
}
