import { z } from 'zod';
import { listSetting, parseSettings, type SettingsSource } from '../cloud/cloud-settings.js';

const gceSettingsSchema = z.strictObject({
  project: z.string({ error: 'is required (the Google Cloud project id)' }).regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'is not a project id'),
  zones: z
    .string({ error: 'is required (one zone, or several to fail over across: europe-west4-a,europe-west4-b)' })
    .transform((value) => listSetting(value) ?? [])
    .pipe(z.array(z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, 'is not a zone (e.g. europe-west4-a)')).min(1, 'names no zone')),
  machineType: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'is not a machine type (e.g. e2-standard-4)')
    .default('e2-standard-2'),
  image: z
    .string()
    .regex(/^[a-z0-9/._-]+$/, 'is not an image path')
    .default('projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64'),
  network: z
    .string()
    .regex(/^[a-z0-9/._-]+$/, 'is not a network path')
    .default('global/networks/default'),
});

/** What a Compute Engine session is launched with. */
export type GceSettings = z.infer<typeof gceSettingsSchema>;

/** Reads Compute Engine settings; every bad value is reported at once. */
export function parseGceSettings(settings: Record<string, unknown>, source?: SettingsSource): GceSettings {
  return parseSettings(gceSettingsSchema, settings, source, 'gce');
}
