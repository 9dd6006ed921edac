// Builds the dashboard's page (ui/dashboard/) into dist/dashboard/: one script, one stylesheet,
// the HTML. Everything the page runs is in these files, so it works offline and loads nothing
// from anywhere else (its Content-Security-Policy would refuse it anyway).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'dashboard');
mkdirSync(out, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: { app: 'ui/dashboard/main.ts' },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'chrome120',
  minify: true,
  logLevel: 'warning',
});
copyFileSync(join(root, 'ui', 'dashboard', 'app.css'), join(out, 'app.css'));
copyFileSync(join(root, 'ui', 'dashboard', 'index.html'), join(out, 'index.html'));
