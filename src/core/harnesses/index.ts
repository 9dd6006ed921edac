export type { Harness, HarnessInvocation, HarnessTask } from './harness.js';
export { agentPreamble } from './agent-preamble.js';
export { agentPrompt } from './agent-prompt.js';
export { harnessFor, harnessNames } from './registry.js';
export { harnessSettings, type HarnessSettings } from './harness-settings.js';
export { promptFileName, taskFilesDir } from './task-files.js';
