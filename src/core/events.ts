/**
 * Typed events with stable codes. The core never prints: it emits events to
 * an EventSink, and the CLI renderer, `--json`, winston and the audit log
 * are listeners. Codes are stable; add new ones, never rename.
 */

export const EventCodes = [
  'session.created',
  'session.ended',
  'host.creating',
  'host.up',
  'host.failed',
  'host.destroying',
  'host.destroyed',
  'host.cleaned',
  'exec.started',
  'exec.host.done',
  'exec.finished',
  'agent.creating',
  'agent.created',
  'agent.failed',
  'agent.removed',
  'identity.issued',
  'sync.pushed',
  'sync.pulled',
  'warning',
  'run.started',
  'run.resumed',
  'run.detached',
  'run.finished',
  'task.changed',
  'approval.recorded',
  'run.cancelled',
  'message.sent',
  'channel.started',
  'channel.stopped',
  'channel.refused',
  'host.requested',
  'host.booted',
  'host.failover',
  'session.extended',
  'gc.found',
  'gc.deleted',
  'task.stranded-recovered',
  'session.resumed',
  'gateway.started',
  'gateway.stopped',
  'gateway.refused',
  'gateway.budget-exceeded',
  'gateway.usage',
  'budget.changed',
  'pool.filled',
  'pool.deleted',
  'dashboard.started',
  'notify.failed',
  'task.attached',
  'task.detached',
  'run.lease-lost',
  'session.shared',
] as const;
export type EventCode = (typeof EventCodes)[number];

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface GraftEvent {
  code: EventCode;
  level: EventLevel;
  /** One human-readable line. Never contains secret values. */
  message: string;
  session?: string;
  host?: string;
  data?: Record<string, unknown>;
  /** ISO timestamp, filled by the bus. */
  time?: string;
}

export interface EventSink {
  emit(event: GraftEvent): void;
}

export type EventListener = (event: GraftEvent) => void;

/** Fan-out of events to listeners; a listener that throws never breaks the emitter. */
export class EventBus implements EventSink {
  private readonly listeners = new Set<EventListener>();

  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: GraftEvent): void {
    const stamped = { ...event, time: event.time ?? new Date().toISOString() };
    for (const listener of this.listeners) {
      try {
        listener(stamped);
      } catch {
        // A broken listener (a closed log file, say) must not stop the work it observes.
      }
    }
  }
}
