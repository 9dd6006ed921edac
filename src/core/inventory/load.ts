/**
 * Loads an inventory file: picks the YAML or INI reader by extension, and by
 * looking at the content when the extension does not say (Ansible's own
 * `hosts` file has none). One file only: inventory directories with
 * group_vars/ are not read.
 */
import { extname } from 'node:path';
import { UnreadableConfigFile } from '../config/config-text.js';
import { ConfigError } from '../errors.js';
import { checkHostKeyPins, localHostSpecEnvironment, toStaticHostSpecs, type HostSpecEnvironment, type StaticHostSpec } from './graft-host.js';
import { readIniInventory } from './ini-inventory.js';
import { readInventorySource } from './inventory-source.js';
import type { Inventory, InventoryFormat, InventoryReadResult } from './model.js';
import { readYamlInventory } from './yaml-inventory.js';

const CHECK_HINT = 'Compare with what Ansible reads: `ansible-inventory -i FILE --list`.';

/**
 * The format of an inventory: `.yml`/`.yaml`/`.json` are YAML (JSON is YAML, as
 * for Ansible), `.ini` is INI, and anything else is decided by its first
 * meaningful line: `---` or a `key:` mapping line means YAML, otherwise INI.
 */
export function detectInventoryFormat(file: string, text: string): InventoryFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.yml' || ext === '.yaml' || ext === '.json') return 'yaml';
  if (ext === '.ini') return 'ini';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    if (line === '---' || line.startsWith('{')) return 'yaml';
    // A YAML key ends with ":" or ": value"; an INI host line uses "=", and "host:2222" has no space after the colon.
    return /^[^\s[=;#][^=]*?:(\s|$)/.test(line) ? 'yaml' : 'ini';
  }
  return 'ini';
}

/** Parses inventory text in the given format, collecting every problem. */
export function readInventoryText(text: string, file: string, format: InventoryFormat = detectInventoryFormat(file, text)): InventoryReadResult {
  return format === 'yaml' ? readYamlInventory(text, file) : readIniInventory(text, file);
}

/** Reads an inventory file, collecting every problem (a missing file is one of them). */
export function readInventoryFile(file: string, readTextFile: (path: string) => string = readInventorySource): InventoryReadResult {
  let text: string;
  try {
    text = readTextFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory; graft reads one inventory file (YAML or INI), not an inventory directory'
          : error instanceof UnreadableConfigFile
            ? error.message
            : `cannot read the file: ${(error as Error).message}`;
    throw new ConfigError(
      [{ file, path: '', message }],
      [
        'Check the path, or pass the inventory with --inventory FILE.',
        'Example inventories ship with graft in its inventories/ folder (onprem.yaml, onprem.ini).',
      ],
    );
  }
  return readInventoryText(text, file);
}

/** Loads and parses an inventory file; throws ConfigError with every problem of the file. */
export function loadInventory(file: string, readTextFile?: (path: string) => string): Inventory {
  const { inventory, problems } = readInventoryFile(file, readTextFile);
  if (problems.length > 0) throw new ConfigError(problems, [CHECK_HINT]);
  return inventory;
}

/**
 * Loads an inventory and validates it for use as static hosts, reporting parse
 * problems, variable problems and (unless `requirePins` is false) hosts without a
 * pinned host key all together; with `trustOnFirstUse`, such hosts are trusted on first use instead.
 */
export function loadStaticHostSpecs(
  file: string,
  options: { env?: HostSpecEnvironment; requirePins?: boolean; trustOnFirstUse?: boolean } = {},
): { inventory: Inventory; specs: StaticHostSpec[] } {
  const env = options.env ?? localHostSpecEnvironment();
  const { inventory, problems } = readInventoryFile(file, env.readTextFile);
  let specs: StaticHostSpec[] = [];
  try {
    specs = toStaticHostSpecs(inventory, env, { trustOnFirstUse: options.trustOnFirstUse });
    if (options.requirePins !== false) problems.push(...checkHostKeyPins(inventory, specs));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems, [CHECK_HINT]);
  return { inventory, specs };
}
