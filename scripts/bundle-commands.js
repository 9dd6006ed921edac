// Bundles the CLI with esbuild: every command (src/commands/**) into dist/commands/, replacing
// tsc's per-module output there, and the entry bin/run.js imports (src/cli/execute.ts, oclif's
// execute) into dist/cli/, with the code they share split into dist/chunks/. Node then reads a
// few files per command instead of several hundred modules: loading was most of a short
// command's run time (`graft sync push` is about a quarter of a second, start-up included). tsc
// still type-checks and emits dist/ (the library, src/core, stays importable module by module).
//
// oclif is bundled too, in the chunks the entry and the commands share, so there is one
// instance of it. Kept external (loaded from node_modules as before): better-sqlite3 (its
// native binding is found relative to its own files), @oclif/plugin-help (only `graft help`
// loads it), and the cloud SDKs (only the commands that use them load them, lazily).
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
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
// help renderer, ux and a Node version check (semver). The same objects come from oclif's own
// subpath modules, as src/cli/execute.ts does; an export graft starts using that is not here
// fails this build.
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

// oclif (its version, its ts-node lookup) and ssh2 (a Windows helper's path) use __dirname at run
// time, which ES modules do not have: each of their modules that does gets its own, pointing
// where that module is installed, so it reads the same files it would unbundled.
const dirnamePackages = ['@oclif/core', 'ssh2'];
const requireHere = createRequire(import.meta.url);
for (const name of dirnamePackages) requireHere.resolve(`${name}/package.json`); // fails the build, not a run
const moduleDirname = {
  name: 'module-dirname',
  setup(build) {
    build.onLoad({ filter: /[/\\]node_modules[/\\](@oclif[/\\]core|ssh2)[/\\].*\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(text)) return undefined;
      const [, name, file] = /[/\\]node_modules[/\\](@oclif[/\\]core|ssh2)[/\\](.*)$/.exec(args.path).map((part) => part?.replaceAll('\\', '/'));
      const installed = `require('node:path').dirname(require.resolve(${JSON.stringify(`${name}/package.json`)}))`;
      const prologue = `var __filename = require('node:path').join(${installed}, ${JSON.stringify(file)}), __dirname = require('node:path').dirname(__filename);\n`;
      return { contents: prologue + text, loader: 'js' };
    });
  },
};

// ssh2's optional native crypto binding stays where npm installed (and built) it.
const sshCryptoBinding = {
  name: 'ssh2-crypto-binding',
  setup(build) {
    build.onResolve({ filter: /sshcrypto\.node$/ }, () => ({ path: 'ssh2/lib/protocol/crypto/build/Release/sshcrypto.node', external: true }));
  },
};

// graft's help class (package.json oclif.helpClass) is an entry too, so it extends the same oclif.
const cliEntries = ['execute.ts', 'help.ts'].map((file) => join(root, 'src', 'cli', file));
const entryPoints = [...commandFiles(join(root, 'src', 'commands')), ...cliEntries];
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
  external: ['@oclif/plugin-help', 'better-sqlite3', 'cpu-features', '@aws-sdk/*', '@google-cloud/*', '@smithy/*', 'google-gax', 'typescript', 'ts-node'],
  plugins: [oclifSubpaths, moduleDirname, sshCryptoBinding],
  // CommonJS dependencies bundled into ES modules still call require(): Node's built-ins, and the
  // packages left external.
  banner: { js: "import { createRequire as __graftCreateRequire } from 'node:module'; const require = __graftCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).filter((file) => file.endsWith('.js'));
console.error(`bundled ${entryPoints.length - cliEntries.length} commands, the entry and help into ${outputs.length} files`);
