/**
 * A session's directory in the graft home, file by file: the one place its layout is written
 * down. Everything of a session on the controller lives here, 0700.
 */
import { join } from 'node:path';

export interface SessionLayout {
  dir: string;
  /** Every non-debug event of the session, one JSON line each. */
  audit: string;
  /** The session's log (JSON lines). */
  log: string;
  /** The session admin's private key (local hosts' login). */
  adminKey: string;
  /** The session CA and JWT keys. */
  identityDir: string;
  /** One directory per agent: its private key. */
  agentsDir: string;
  agentDir(agent: string): string;
  agentKey(agent: string): string;
  /** One directory per local host: its sshd's files. */
  hostsDir: string;
  /** One directory per task: the output of each attempt. */
  taskDir(task: string): string;
  attemptLog(task: string, attempt: number): string;
  /** What an attempt stranded on a lost host printed, fetched once the host answered again. */
  strandedLog(task: string, agent: string): string;
  /** The dashboard's listening address and token. */
  dashboardDir: string;
}

export function sessionLayout(dir: string): SessionLayout {
  const agentsDir = join(dir, 'agents');
  const taskDir = (task: string) => join(dir, 'tasks', task);
  return {
    dir,
    audit: join(dir, 'audit.jsonl'),
    log: join(dir, 'graft.log'),
    adminKey: join(dir, 'admin_ed25519'),
    identityDir: join(dir, 'identity'),
    agentsDir,
    agentDir: (agent) => join(agentsDir, agent),
    agentKey: (agent) => join(agentsDir, agent, 'id_ed25519'),
    hostsDir: join(dir, 'hosts'),
    taskDir,
    attemptLog: (task, attempt) => join(taskDir(task), `attempt-${attempt}.log`),
    strandedLog: (task, agent) => join(taskDir(task), `stranded-${agent}.log`),
    dashboardDir: join(dir, 'dashboard'),
  };
}
