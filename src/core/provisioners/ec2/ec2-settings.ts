import { z } from 'zod';
import { listSetting, parseSettings, type SettingsSource } from '../cloud/cloud-settings.js';

const cidr = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;

const ec2SettingsSchema = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'is not an AWS region (e.g. eu-west-1)')
    .optional(),
  instanceType: z
    .string()
    .regex(/^[a-z0-9-]+\.[a-z0-9]+$/, 'is not an instance type (e.g. t3.large)')
    .default('t3.medium'),
  image: z
    .string()
    .regex(/^ami-[0-9a-f]+$/, 'is not an AMI id (ami-...)')
    .optional(),
  subnets: z
    .string()
    .optional()
    .transform((value) => listSetting(value))
    .pipe(z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'is not a subnet id (subnet-...)')).optional()),
  sshFrom: z.string().regex(cidr, 'is not an IPv4 CIDR block (e.g. 203.0.113.7/32)').optional(),
});

/** What an EC2 session is launched with (`graft up --provisioner ec2`, or a graph's ec2 pool). */
export type Ec2Settings = z.infer<typeof ec2SettingsSchema>;

/** Reads EC2 settings; every bad value is reported at once, as a flag or as a path in `source`. */
export function parseEc2Settings(settings: Record<string, unknown>, source?: SettingsSource): Ec2Settings {
  return parseSettings(ec2SettingsSchema, settings, source, 'ec2');
}
