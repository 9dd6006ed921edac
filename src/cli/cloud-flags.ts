import { Flags } from '@oclif/core';
import { UsageError } from '../core/errors.js';

/** Where cloud VMs go: the flags `up` and `gc` share, each with its GRAFT_* variable. */
export const cloudFlags = {
  region: Flags.string({ description: "AWS region (ec2; default: the AWS SDK's, e.g. AWS_REGION).", env: 'GRAFT_REGION' }),
  'instance-type': Flags.string({ description: 'EC2 instance type (ec2; default t3.medium).', env: 'GRAFT_INSTANCE_TYPE' }),
  image: Flags.string({
    description: 'Image: an AMI id (ec2; default the newest Debian 12) or an image path (gce; default Ubuntu 24.04).',
    env: 'GRAFT_IMAGE',
  }),
  subnet: Flags.string({
    description: "Subnets to launch in, tried in order when one is out of capacity (ec2; repeatable or comma-separated; default the default VPC's).",
    multiple: true,
    delimiter: ',',
    env: 'GRAFT_SUBNETS',
  }),
  'ssh-from': Flags.string({
    description: "CIDR block the session's security group admits SSH from (ec2; default this machine's public address).",
    env: 'GRAFT_SSH_FROM',
  }),
  project: Flags.string({ description: 'Google Cloud project (gce).', env: 'GRAFT_PROJECT' }),
  zone: Flags.string({
    description: 'Zones, tried in order when one is out of capacity (gce; repeatable or comma-separated).',
    multiple: true,
    delimiter: ',',
    env: 'GRAFT_ZONES',
  }),
  'machine-type': Flags.string({ description: 'Compute Engine machine type (gce; default e2-standard-2).', env: 'GRAFT_MACHINE_TYPE' }),
  network: Flags.string({ description: 'Compute Engine network (gce; default global/networks/default).', env: 'GRAFT_NETWORK' }),
};

type CloudFlagValues = { [K in keyof typeof cloudFlags]?: string | string[] };

const ec2Flags = ['region', 'instance-type', 'image', 'subnet', 'ssh-from'] as const;
const gceFlags = ['project', 'zone', 'machine-type', 'image', 'network'] as const;
const settingOf: Record<string, string> = {
  region: 'region',
  'instance-type': 'instanceType',
  image: 'image',
  subnet: 'subnets',
  'ssh-from': 'sshFrom',
  project: 'project',
  zone: 'zones',
  'machine-type': 'machineType',
  network: 'network',
};

/**
 * The provisioner settings the flags give (the `settings` of an ec2/gce UpRequest); a flag of
 * the other cloud is refused rather than ignored. Values are checked by the provisioner.
 */
export function cloudSettings(provisioner: string, flags: CloudFlagValues): Record<string, string> {
  const allowed: readonly string[] = provisioner === 'ec2' ? ec2Flags : provisioner === 'gce' ? gceFlags : [];
  const settings: Record<string, string> = {};
  for (const [flag, value] of Object.entries(flags)) {
    if (!(flag in settingOf) || value === undefined) continue;
    if (!allowed.includes(flag))
      throw new UsageError(`--${flag} does not apply to --provisioner ${provisioner}`, [`Its flags: ${allowed.map((f) => `--${f}`).join(' ') || '(none)'}`]);
    settings[settingOf[flag]!] = Array.isArray(value) ? value.join(',') : value;
  }
  return settings;
}
