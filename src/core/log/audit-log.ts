import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventCode, GraftEvent } from '../events.js';

/**
 * The session's append-only audit log: one JSON object per line, with a timestamp, for
 * everything graft did. Written synchronously so that a crash right after an action
 * still leaves its line on disk; opened in append mode only, never rewritten.
 */
/** Debug-level events that are still actions graft took on hosts, so they belong in the audit. */
const auditedDebugCodes = new Set<EventCode>([
  'exec.started',
  'exec.host.done',
  'exec.finished',
  'agent.creating',
  'agent.failed',
  'host.creating',
  'host.destroying',
]);

export class AuditLog {
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  }

  /** Appends `event`, naming the operator whose graft process did it. */
  record(event: GraftEvent, operator: string): void {
    if (event.level === 'debug' && !auditedDebugCodes.has(event.code)) return;
    const line = JSON.stringify({ time: event.time ?? new Date().toISOString(), operator, ...event });
    appendFileSync(this.file, line + '\n', { mode: 0o600 });
  }
}
