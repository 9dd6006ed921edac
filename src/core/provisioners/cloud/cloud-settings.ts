import type { z } from 'zod';
import { ConfigError, UsageError } from '../../errors.js';

/**
 * Where a provisioner's settings came from, so a bad value is reported where the user wrote
 * it: a file and the path of the settings in it (a graph's `hosts:` section), or the command
 * line (absent), where each setting is a flag.
 */
export interface SettingsSource {
  file: string;
  /** Path of the settings mapping inside the file, e.g. `hosts.settings`. */
  path: string;
}

/** The flag of each setting, for errors about the command line. */
const flagOf: Record<string, string> = {
  region: '--region',
  instanceType: '--instance-type',
  image: '--image',
  subnets: '--subnet',
  sshFrom: '--ssh-from',
  project: '--project',
  zones: '--zone',
  machineType: '--machine-type',
  network: '--network',
};

/** A comma-separated setting as a list (flags given several times arrive joined by commas). */
export function listSetting(value: string | undefined): string[] | undefined {
  const items = value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return items && items.length > 0 ? items : undefined;
}

/** Validates settings with `schema`; every problem is reported at once, named as the user wrote it. */
export function parseSettings<S extends z.ZodType>(
  schema: S,
  settings: Record<string, unknown>,
  source: SettingsSource | undefined,
  provider: string,
): z.infer<S> {
  const parsed = schema.safeParse(settings);
  if (parsed.success) return parsed.data;
  if (source) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        file: source.file,
        path: [source.path, ...issue.path.map(String)].filter(Boolean).join('.'),
        message: issue.message,
      })),
    );
  }
  const lines = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    return `${flagOf[key] ?? key}: ${issue.message}`;
  });
  throw new UsageError(`invalid ${provider} settings:\n  ${lines.join('\n  ')}`, [`See: graft up --help`]);
}
