import type { IsolationMode } from './host.js';

/** `revoke-failed`: its host could not be reached to remove it; `agent rm` or `down` tries again. */
export type AgentState = 'creating' | 'ready' | 'failed' | 'removing' | 'revoke-failed' | 'removed';

/** An agent of a session, as stored in the state store and shown by `graft agent ls`. Never holds secret values. */
export interface AgentRecord {
  name: string;
  /** The host it lives on (a host name of the session). */
  host: string;
  /** The Unix account its processes run as. */
  account: string;
  isolation: IsolationMode;
  /** Its home on the host (accounts) or its directory under the login account (shared-account). */
  home: string;
  state: AgentState;
  /** Private key of its per-run SSH key, on the controller, mode 0600. */
  keyFile: string;
  publicKey: string;
  /** When sshd stops accepting its key (`expiry-time=`): the session's end. */
  keyExpiresAt: string;
  /** The address its key is accepted from (`from=`): the controller as the host sees it. */
  keyFrom: string;
  /** Whether its key allows a pty (`graft ssh`). */
  interactive: boolean;
  spiffeId: string;
  certificateNotAfter: string;
  /** Names of the secrets granted to it; values live only on the host, in its account. */
  secrets: string[];
  createdAt: string;
  error?: string;
  /** Its account came from the host's warm pool (`graft-<session>-<uid>`): revoked at once, deleted in a batch later. */
  pooled?: boolean;
  /** Its git worktree, when it was created with --from. */
  workspace?: AgentWorkspace;
}

/** An agent's worktree on its host and how it relates to the controller's repository. */
export interface AgentWorkspace {
  /** The controller's repository (top of its working tree). */
  repo: string;
  /** The commit-ishes it started from, as given (several: merged, in order). */
  from: string[];
  /** The commit its branch started from, and that `diff` compares against. */
  base: string;
  /** `graft/<session>/<agent>`, on the host and, after a pull, in the controller's repository. */
  branch: string;
  /** Its worktree on the host. */
  workdir: string;
  /** The host's object cache it borrows from. */
  cache: string;
  /** The agent's HEAD at the last pull: the next pull sends only what came after. */
  pulledHead?: string;
  /** What the local branch was set to at the last pull: graft only moves a branch it set itself. */
  pulledTip?: string;
}
