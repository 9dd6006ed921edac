#!/usr/bin/env node
// The bundled entry: oclif and the commands load from a few files (scripts/bundle-commands.js).
import { execute } from '../dist/cli/execute.js';

await execute({ dir: import.meta.url });
