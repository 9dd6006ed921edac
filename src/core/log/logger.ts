import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import winston from 'winston';
import Transport from 'winston-transport';
import type { EventLevel, GraftEvent } from '../events.js';

/**
 * Writes JSON lines synchronously. winston's own File transport buffers asynchronously,
 * and a CLI that exits right after its work (or is killed) would lose the last lines.
 */
class SyncJsonFileTransport extends Transport {
  constructor(
    private readonly file: string,
    opts: Transport.TransportStreamOptions = {},
  ) {
    super(opts);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    appendFileSync(this.file, JSON.stringify(info) + '\n', { mode: 0o600 });
    next();
  }
}

export interface LoggerOptions {
  /** Lowest level shown on stderr. */
  consoleLevel: EventLevel | 'silent';
  /** JSON-lines log file of the session, if any. Gets every level. */
  file?: string;
}

/** Builds the winston logger: human-readable lines on stderr, JSON lines in the session log. */
export function createLogger(options: LoggerOptions): winston.Logger {
  const transports: Transport[] = [
    new winston.transports.Console({
      stderrLevels: ['error', 'warn', 'info', 'debug'],
      level: options.consoleLevel === 'silent' ? 'error' : options.consoleLevel,
      silent: options.consoleLevel === 'silent',
      format: winston.format.printf((info) => {
        // Messages already name their host; the level is shown only when it is not plain progress.
        const prefix = info.level === 'info' ? '' : `${info.level}: `;
        return `${prefix}${String(info.message)}`;
      }),
    }),
  ];
  if (options.file) {
    transports.push(new SyncJsonFileTransport(options.file, { level: 'debug', format: winston.format.timestamp() }));
  }
  return winston.createLogger({ level: 'debug', transports });
}

/** Adds a session log file to a logger once the session is known. */
export function addSessionLogFile(logger: winston.Logger, file: string): void {
  logger.add(new SyncJsonFileTransport(file, { level: 'debug', format: winston.format.timestamp() }));
}

/** Changes the lowest level shown on stderr. */
export function setConsoleLevel(logger: winston.Logger, level: EventLevel): void {
  for (const transport of logger.transports) if (transport instanceof winston.transports.Console) transport.level = level;
}

/** An event listener that logs each event. */
export function logEvent(logger: winston.Logger, event: GraftEvent): void {
  const { level, message, ...rest } = event;
  logger.log(level, message, rest);
}
