import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../errors.js';

/**
 * TEST AND EMULATOR AFFORDANCE, not for real clouds. Emulators (moto, graft's fake Compute
 * server) hand out public addresses that belong to somebody else and console output that is
 * canned, so graft must never dial the one nor trust the other. When `GRAFT_EMULATED_VMS_DIR`
 * is set, graft reaches instance X at the loopback address and port written in
 * `<dir>/<X>.json` (by whatever plays the VM's boot: test/fakes/vm-boot.ts), and takes its
 * console text from there when the file has one. Until the file exists the VM counts as still
 * booting. Every `up` that uses it says so in a warning. See docs/cloud.md.
 */
export const emulatedVmsVariable = 'GRAFT_EMULATED_VMS_DIR';

const emulatedVmSchema = z.strictObject({
  address: z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'must be a loopback address (127.x.y.z): emulated VMs are never dialed elsewhere'),
  port: z.number().int().min(1).max(65535),
  /** What the VM's console would show; absent when the emulator serves console output itself. */
  console: z.string().optional(),
});
export type EmulatedVm = z.infer<typeof emulatedVmSchema>;

/** Where an emulated VM answers, read from the directory the emulator writes. */
export class EmulatedVms {
  constructor(readonly dir: string) {}

  /** The directory named by the environment, or undefined on a real cloud. */
  static fromEnv(env: NodeJS.ProcessEnv): EmulatedVms | undefined {
    const dir = env[emulatedVmsVariable];
    return dir ? new EmulatedVms(dir) : undefined;
  }

  /** The VM's loopback endpoint (and console), or undefined while it has not booted. */
  async lookup(instanceId: string): Promise<EmulatedVm | undefined> {
    if (!/^[A-Za-z0-9._-]+$/.test(instanceId)) return undefined;
    const file = join(this.dir, `${instanceId}.json`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    const parsed = emulatedVmSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => ({ file, path: issue.path.join('.'), message: issue.message })));
    return parsed.data;
  }
}
