import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The directory graft is installed in (its package.json and the host-side assets under
 * provisioners/), found by walking up from this module: the code runs from src/ (tests), from
 * tsc's dist/ tree, or from a bundled chunk under dist/chunks/, each at a different depth.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'provisioners')))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find graft's package directory above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  root = dir;
  return dir;
}

/** A file graft ships for hosts, e.g. `assetPath('provisioners', 'host', 'graft-agent')`. */
export function assetPath(...segments: string[]): string {
  return join(packageRoot(), ...segments);
}
