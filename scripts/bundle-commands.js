// Bundles every command (src/commands/**) with esbuild into dist/commands/, replacing tsc's
// per-module output there, with the code they share split into dist/chunks/. Node then reads a
// few files per command instead of hundreds of modules: loading is most of a short command's
// run time (`graft sync push` is about a quarter of a second, start-up included). tsc still
// type-checks and emits dist/ (the library, src/core, stays importable module by module).
//
// Kept external (loaded from node_modules as before): packages with native bindings (ssh2,
// better-sqlite3), oclif (it finds its own files through __dirname, and @oclif/plugin-help
// shares its instance), and the cloud SDKs (only the commands that use them load them, lazily).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function commandFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return commandFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

// Commands import Command, Args, Flags and Errors from '@oclif/core', whose index also loads the
// help renderer, ux and a Node version check (semver): ~20 ms of every command. The same objects
// come from oclif's own subpath exports (the same files, the same module instances), which
// bin/run.js uses too; an export graft starts using that is not here fails this build.
const oclifSubpaths = {
  name: 'oclif-subpaths',
  setup(build) {
    build.onResolve({ filter: /^@oclif\/core$/ }, () => ({ path: 'oclif-core', namespace: 'graft-oclif' }));
    build.onLoad({ filter: /.*/, namespace: 'graft-oclif' }, () => ({
      resolveDir: root,
      contents: [
        "export { Command } from '@oclif/core/command';",
        "export * as Args from '@oclif/core/args';",
        "export * as Errors from '@oclif/core/errors';",
        "export * as Flags from '@oclif/core/flags';",
      ].join('\n'),
    }));
  },
};

const entryPoints = commandFiles(join(root, 'src', 'commands'));
rmSync(join(root, 'dist', 'chunks'), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: entryPoints.map((file) => relative(root, file)),
  outbase: 'src',
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  external: ['@oclif/core/*', '@oclif/plugin-help', 'ssh2', 'better-sqlite3', 'cpu-features', '@aws-sdk/*', '@google-cloud/*', '@smithy/*', 'google-gax', 'typescript'],
  // CommonJS dependencies bundled into ES modules still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __graftCreateRequire } from 'node:module'; const require = __graftCreateRequire(import.meta.url);" },
  plugins: [oclifSubpaths],
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).filter((file) => file.endsWith('.js'));
console.error(`bundled ${entryPoints.length} commands into ${outputs.length} files`);
