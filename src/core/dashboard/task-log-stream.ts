/**
 * A task's output for the dashboard, as `graft logs -f` gets it: a running attempt's from its
 * host (read as its agent, following until its process ends), an ended one's from the session
 * directory. Text is redacted a whole line at a time, so a secret split across two reads is
 * still caught; a last line without a newline is sent when the stream ends.
 */
import { readAttemptLog } from '../controller/saved-logs.js';
import { learnAgentSecrets } from '../hosts/agent-secrets.js';
import { HostShell } from '../hosts/host-shell.js';
import type { GraftRuntime } from '../runtime.js';
import { RunStore } from '../state/run-store.js';
import { maxLogBytes, taskLogCommand } from '../controller/task-log.js';

export interface LogStreamHandlers {
  text(chunk: string): void;
  /** Where the output came from, before any text. */
  source(source: 'host' | 'saved' | 'none', attempt: number): void;
}

/** Streams the latest attempt's output of `task` until it ends (live) or at once (saved), or until `signal` aborts. */
export async function streamTaskLog(runtime: GraftRuntime, sessionId: string, task: string, handlers: LogStreamHandlers, signal: AbortSignal): Promise<void> {
  const record = new RunStore(runtime.store).getTask(sessionId, task);
  if (!record) return handlers.source('none', 0);
  const live = record.state === 'running' || record.state === 'starting';
  const agent = live && record.agent ? runtime.store.getAgent(sessionId, record.agent) : undefined;
  const host = agent && runtime.store.listHosts(sessionId).find((h) => h.name === record.host);
  if (!agent || agent.state !== 'ready' || !host) {
    const text = await readAttemptLog(runtime, sessionId, task, record.attempt);
    if (text === undefined) return handlers.source('none', record.attempt);
    handlers.source('saved', record.attempt);
    return handlers.text(runtime.redactor.redact(text.slice(-maxLogBytes)));
  }
  handlers.source('host', record.attempt);
  const shell = HostShell.agent(runtime.pool, sessionId, agent, host);
  await learnAgentSecrets(shell, agent, runtime.redactor);
  let pending = '';
  const command = taskLogCommand({ wait: true, followPid: record.pid });
  await shell
    .exec(command, {
      signal,
      maxBufferBytes: 0,
      onStdout: (chunk) => {
        pending += chunk.toString('utf8');
        const cut = pending.lastIndexOf('\n');
        if (cut < 0) return;
        handlers.text(runtime.redactor.redact(pending.slice(0, cut + 1)));
        pending = pending.slice(cut + 1);
      },
    })
    .catch((error: Error) => {
      if (!signal.aborted) throw error;
    });
  if (pending && !signal.aborted) handlers.text(runtime.redactor.redact(pending));
}
