import { readConfigText } from '../config/config-text.js';

/** Inventory (and known_hosts) files are read whole: 4 MiB holds tens of thousands of hosts. */
export const MAX_INVENTORY_FILE_BYTES = 4 * 1024 * 1024;

/** Reads an inventory or known_hosts file: regular files of at most MAX_INVENTORY_FILE_BYTES (throws UnreadableConfigFile). */
export function readInventorySource(path: string): string {
  return readConfigText(path, MAX_INVENTORY_FILE_BYTES);
}
