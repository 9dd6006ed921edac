import type { AgentSpec, HarnessName } from '../model/graph.js';

/** What a harness knows about the task it starts. */
export interface HarnessTask {
  session: string;
  task: string;
  agent: AgentSpec;
  prompt?: string;
  /** The shell harness's command (the task's, else the agent's). */
  command?: string;
  /** The agent's branch and worktree on the host (absolute). */
  branch: string;
  workdir: string;
  /** Tasks this one starts from, with what they reported when they finished. */
  upstream: { task: string; branch: string; summary?: string }[];
  /** The vendor API base URL the CLI is pointed at without the gateway (the harness's `apiBaseUrlSetting`); absent: the CLI's own default. */
  apiBaseUrl?: string;
  /** The session's model gateway, when the agent reaches its vendor through it (docs/gateway.md); it replaces apiBaseUrl. */
  gateway?: GatewayAccess;
}

/** How an agent's CLI reaches the model gateway: its URL on the host and the task's token. */
export interface GatewayAccess {
  /** `http://127.0.0.1:<port>`, the host's end of the gateway tunnel (no trailing slash). */
  url: string;
  /** The per-task gateway token, given to the CLI where its API key would go. */
  token: string;
}

/** How to start a task on its host, as the agent's account, in its worktree. */
export interface HarnessInvocation {
  /**
   * POSIX sh script body. It runs with the worktree as cwd, the agent's granted secrets exported,
   * GRAFT_* variables set (GRAFT_TASK, GRAFT_SESSION, GRAFT_CHANNEL_URL ...) and `graft-agent` on PATH.
   * Its exit status is the attempt's result unless the agent reported `done`/`fail` first.
   */
  script: string;
  /** Commands that must exist on the host; checked with `command -v` before the task starts. */
  requires: string[];
  /** Files written (as the agent, 0600) under the agent's ~/.graft/task/ before the script runs, e.g. the prompt. */
  files: { name: string; content: string }[];
  /** Secret names the CLI needs to authenticate (one of them suffices); a warning names them when none is granted. */
  credentials: string[];
  /**
   * Environment the CLI runs with, set by graft (the gateway's URL and token); written to the
   * task's 0600 env file, never into the script. Values here replace granted secrets of the same name.
   */
  env?: Record<string, string>;
}

export interface Harness {
  readonly name: HarnessName;
  /** The controller setting that points this harness's CLI at another API base URL (a proxy, a test's mock). */
  readonly apiBaseUrlSetting?: string;
  invoke(task: HarnessTask): HarnessInvocation;
}
