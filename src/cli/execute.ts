/**
 * The CLI's entry (bin/run.js): oclif's execute, from its subpath module rather than its index
 * (which also loads help, ux and a Node version check). Bundled with the commands, so they and
 * the entry share one oclif (scripts/bundle-commands.js).
 */
export { execute } from '@oclif/core/execute';
