import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { authorize } from '../core/team/session-access.js';
import type { SessionRole } from '../core/state/member-store.js';
import type { SessionRow } from '../core/state/store.js';
import type winston from 'winston';
import { asGraftError, ExitCode, type GraftError, UsageError } from '../core/errors.js';
import { EventBus, type EventLevel } from '../core/events.js';
import { addSessionLogFile, createLogger, logEvent, setConsoleLevel } from '../core/log/logger.js';
import { attachAuditLog, closeRuntime, openRuntime, sessionFiles, type GraftRuntime } from '../core/runtime.js';

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof GraftCommand)['baseFlags'] & T['flags']>;
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>;

/** The JSON envelope every command prints with `--json`, success or failure. */
export interface JsonEnvelope<T> {
  status: number;
  result?: T;
  error?: { code: string; message: string; actions: string[]; details?: Record<string, unknown> };
  warnings: string[];
}

/**
 * Base of every graft command: `--json` (one envelope on stdout, nothing else there),
 * logs and progress on stderr, typed errors rendered once with hints and the exit code
 * from the published table, and the runtime (state store, SSH pool) opened and closed.
 */
export abstract class GraftCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;
  /**
   * Event codes whose news is the command's own result line on stdout: shown on stderr only
   * with --verbose (still in the session log and audit), so a terminal does not say it twice.
   */
  static resultEvents: ReadonlySet<string> = new Set();

  static override baseFlags = {
    verbose: Flags.boolean({ char: 'v', description: 'Show debug progress on stderr.', env: 'GRAFT_VERBOSE' }),
    quiet: Flags.boolean({ char: 'q', description: 'Show only warnings and errors on stderr.', env: 'GRAFT_QUIET', exclusive: ['verbose'] }),
    database: Flags.string({
      description: "Keep graft's state in this PostgreSQL database (team mode: postgres://user:password@host/db) instead of the SQLite file in GRAFT_HOME.",
      env: 'GRAFT_DATABASE_URL',
      helpValue: '<url>',
    }),
  };

  protected flags!: CommandFlags<T>;
  protected args!: CommandArgs<T>;
  /** Every positional argument, in order (for commands with `strict = false`, e.g. words after `--`). */
  protected rest: string[] = [];
  protected readonly events = new EventBus();
  protected readonly warnings: string[] = [];
  private logger?: winston.Logger;
  private openedRuntime?: GraftRuntime;

  override async init(): Promise<void> {
    await super.init();
    const ctor = this.ctor as T;
    const parsed = await this.parse({
      flags: ctor.flags,
      baseFlags: (super.ctor as typeof GraftCommand).baseFlags,
      args: ctor.args,
      strict: ctor.strict,
      enableJsonFlag: ctor.enableJsonFlag,
    });
    this.flags = parsed.flags as CommandFlags<T>;
    this.args = parsed.args as CommandArgs<T>;
    this.rest = parsed.argv as string[];
    // Processes this one starts (the controller, its companions) use the same store.
    if (this.flags.database) process.env.GRAFT_DATABASE_URL = this.flags.database;
    const level: EventLevel = this.flags.verbose ? 'debug' : this.flags.quiet ? 'warn' : 'info';
    this.logger = createLogger({ consoleLevel: level });
    this.events.on((raw) => {
      const event = this.redact(raw);
      if (event.level === 'warn') this.warnings.push(event.message);
      const shownAsResult = (this.ctor as unknown as typeof GraftCommand).resultEvents.has(event.code);
      logEvent(this.logger!, shownAsResult && event.level === 'info' ? { ...event, level: 'debug' } : event);
    });
  }

  /** Lends a long-running core service this command's output, console and exit code. */
  protected driveOutput() {
    return {
      json: this.jsonEnabled(),
      log: (text: string) => this.log(text),
      muteConsole: () => this.muteConsole(),
      setExitCode: (code: number) => this.setExitCode(code),
    };
  }

  /** Shows only errors on stderr from now on (a live display draws there instead). */
  protected muteConsole(): void {
    if (this.logger) setConsoleLevel(this.logger, 'error');
  }

  /** The runtime, opened on first use so commands that need no state stay fast. */
  protected runtime(): GraftRuntime {
    this.openedRuntime ??= openRuntime({ events: this.events });
    return this.openedRuntime;
  }

  /**
   * Readies a session for `action`: refuses unless this operator holds `role` on it (team mode;
   * session-access.ts), and for an owner's action fetches the session's key files this machine
   * lacks from the shared store.
   */
  protected joinSession(session: SessionRow, role: SessionRole, action: string): void {
    const runtime = this.runtime();
    authorize(runtime, session, role, action);
    if (role === 'owner') runtime.vault?.pull(session.id);
  }

  /** Hides secret values this process learned (granted secrets) from anything it outputs. */
  protected redact<V>(value: V): V {
    return this.openedRuntime ? this.openedRuntime.redactor.redactDeep(value) : value;
  }

  /** From now on, also write every log line to the session's JSON-lines log file and its audit log. */
  protected logToSession(sessionId: string): void {
    attachAuditLog(this.runtime(), sessionId);
    if (this.logger) addSessionLogFile(this.logger, sessionFiles(this.runtime(), sessionId).log);
  }

  protected override toSuccessJson(result: unknown): JsonEnvelope<unknown> {
    const envelope = { status: Number(process.exitCode ?? ExitCode.ok), result, warnings: this.warnings };
    return this.redact(envelope);
  }

  /**
   * Plain JSON on stdout. oclif's default colorizes it by tokenizing with regular expressions that
   * overflow the stack on a long string (an 8 MiB log in `graft logs --json`) and are quadratic on
   * large results; a colour theme serves no machine reading --json anyway.
   */
  protected override logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  }

  protected override async catch(thrown: Error & { exitCode?: number }): Promise<unknown> {
    if (thrown instanceof Errors.ExitError) throw thrown;
    const error: GraftError =
      thrown instanceof Errors.CLIError
        ? new UsageError(thrown.message.replace(/^Error: /, ''), ['See: graft ' + this.id?.replaceAll(':', ' ') + ' --help'])
        : asGraftError(thrown);
    if (this.jsonEnabled()) {
      const envelope: JsonEnvelope<unknown> = {
        status: error.exitCode,
        error: { code: error.code, message: error.message, actions: error.actions, ...(error.details ? { details: error.details } : {}) },
        warnings: this.warnings,
      };
      // Through logJson, so commands that stream JSON lines (run, resume) end with a line too.
      this.logJson(this.redact(envelope));
    } else {
      const lines = [`error: ${this.redact(error.message)}`, ...error.actions.map((a) => `  try: ${this.redact(a)}`)];
      if (error.exitCode === ExitCode.bug || process.env.GRAFT_DEBUG) lines.push(String((error.cause as Error | undefined)?.stack ?? error.stack));
      process.stderr.write(lines.join('\n') + '\n');
    }
    process.exitCode = error.exitCode;
    return undefined;
  }

  protected override async finally(error: Error | undefined): Promise<unknown> {
    if (this.openedRuntime) await closeRuntime(this.openedRuntime);
    return super.finally(error);
  }

  /** Ends with an exit code after a result was printed (e.g. some hosts failed). */
  protected setExitCode(code: number): void {
    if (code !== 0) process.exitCode = code;
  }
}
