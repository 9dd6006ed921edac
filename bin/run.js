#!/usr/bin/env node
// oclif's subpath, not its index: the index also loads help, ux and a Node version check that a
// command does not need (see scripts/bundle-commands.js, which does the same for the commands).
import { execute } from '@oclif/core/execute';

await execute({ dir: import.meta.url });
