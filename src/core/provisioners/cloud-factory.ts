import { parseDuration } from '../duration.js';
import type { SshPool } from '../ssh/index.js';
import type { CloudApi } from './cloud/cloud-api.js';
import { CloudProvisioner } from './cloud/cloud-provisioner.js';
import { defaultCloudTiming, type CloudTiming } from './cloud/cloud-timing.js';
import type { SettingsSource } from './cloud/cloud-settings.js';
import { controllerCidr } from './cloud/controller-address.js';
import { EmulatedVms } from './cloud/emulated-vms.js';
import { ownerId } from './cloud/owner-id.js';

/** Speeds up (or slows down) every poll of a cloud API: the first wait between polls, e.g. `200ms` for emulators. */
export const pollIntervalVariable = 'GRAFT_CLOUD_POLL_INTERVAL';

/** What building a cloud provisioner needs besides the session. */
export interface CloudFactoryOptions {
  pool: SshPool;
  /** The graft home (its owner id is the VMs' owner tag). */
  home: string;
  env: NodeJS.ProcessEnv;
  adminKeyFile: string;
  adminPublicKey: string;
  /** Where the settings were written, for errors (absent: the command line). */
  source?: SettingsSource;
}

/**
 * The CloudApi for a provider and its settings (a session's `spec.settings`). The SDK of the
 * provider is loaded only here, when that provider is named.
 */
export async function cloudApiFor(
  provider: 'ec2' | 'gce',
  settings: Record<string, unknown>,
  options: Pick<CloudFactoryOptions, 'env' | 'source'>,
): Promise<CloudApi> {
  const emulated = EmulatedVms.fromEnv(options.env);
  const poll = cloudTiming(options.env).poll;
  if (provider === 'ec2') {
    const [{ Ec2Api }, { createEc2Client }, { parseEc2Settings }] = await Promise.all([
      import('./ec2/ec2-api.js'),
      import('./ec2/ec2-client.js'),
      import('./ec2/ec2-settings.js'),
    ]);
    const parsed = parseEc2Settings(settings, options.source);
    // Emulated VMs are dialed on loopback only; never ask the internet who we are for them.
    const sshFrom = () => (emulated && !parsed.sshFrom ? Promise.resolve('127.0.0.1/32') : controllerCidr(parsed.sshFrom));
    return new Ec2Api(createEc2Client(parsed), { settings: parsed, sshFrom, poll });
  }
  const [{ GceApi }, { createGceClients }, { parseGceSettings }] = await Promise.all([
    import('./gce/gce-api.js'),
    import('./gce/gce-clients.js'),
    import('./gce/gce-settings.js'),
  ]);
  return new GceApi(createGceClients(options.env), { settings: parseGceSettings(settings, options.source), pacing: poll });
}

/** The provisioner for a cloud session. */
export async function cloudProvisioner(provider: 'ec2' | 'gce', spec: Record<string, unknown>, options: CloudFactoryOptions): Promise<CloudProvisioner> {
  const settings = (spec.settings ?? {}) as Record<string, unknown>;
  return new CloudProvisioner({
    api: await cloudApiFor(provider, settings, options),
    pool: options.pool,
    adminKeyFile: options.adminKeyFile,
    adminPublicKey: options.adminPublicKey,
    owner: ownerId(options.home),
    ttlMs: Number(spec.ttlMs) || 12 * 3_600_000,
    emulated: EmulatedVms.fromEnv(options.env),
    timing: cloudTiming(options.env),
  });
}

/** The default pacing, or a faster one when GRAFT_CLOUD_POLL_INTERVAL says so. */
export function cloudTiming(env: NodeJS.ProcessEnv): CloudTiming {
  const value = env[pollIntervalVariable];
  if (!value) return defaultCloudTiming;
  const initialMs = parseDuration(pollIntervalVariable, value);
  return { ...defaultCloudTiming, poll: { initialMs, maxMs: Math.max(initialMs, Math.min(defaultCloudTiming.poll.maxMs, initialMs * 5)) } };
}
