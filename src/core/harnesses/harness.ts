import type { AgentSpec, HarnessName } from '../graph/model.js';

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
}

export interface Harness {
  readonly name: HarnessName;
  invoke(task: HarnessTask): HarnessInvocation;
}
