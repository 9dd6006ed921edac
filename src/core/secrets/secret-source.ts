import { parse } from 'dotenv';
import { readFileSync } from 'node:fs';
import { ConfigError, UsageError } from '../errors.js';
import { shellQuote } from '../shell-quote.js';

export const secretNamePattern = /^[A-Z_][A-Z0-9_]{0,63}$/;

/**
 * Where granted secrets' values come from: a secrets file in dotenv format (`NAME=value`),
 * then the controller's environment. graft stores names, never values.
 */
export function resolveSecrets(names: string[], options: { file?: string; env: NodeJS.ProcessEnv }): Map<string, string> {
  const bad = names.filter((n) => !secretNamePattern.test(n));
  if (bad.length > 0) {
    throw new UsageError(`secret names must be UPPER_SNAKE_CASE (letters, digits, _): ${bad.map((n) => JSON.stringify(n)).join(', ')}`);
  }
  let fromFile: Record<string, string> = {};
  if (options.file) {
    try {
      fromFile = parse(readFileSync(options.file));
    } catch (error) {
      throw new ConfigError([
        { file: options.file, path: '', message: `cannot read the secrets file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` },
      ]);
    }
  }
  const values = new Map<string, string>();
  const missing: string[] = [];
  for (const name of names) {
    const value = fromFile[name] ?? options.env[name];
    if (value === undefined || value === '') missing.push(name);
    else values.set(name, value);
  }
  if (missing.length > 0) {
    throw new UsageError(`no value for secret(s) ${missing.join(', ')}`, [
      options.file
        ? `Add ${missing[0]}=... to ${options.file}, or export it in the environment.`
        : `Export it (export ${missing[0]}=...) or pass --secrets-file FILE with ${missing[0]}=... in it.`,
    ]);
  }
  return values;
}

/** The agent's secrets as a file its shell can source: `NAME='value'` lines, values quoted for sh. */
export function secretsEnvFile(values: Map<string, string>): string {
  return [...values].map(([name, value]) => `${name}=${shellQuote(value)}\n`).join('');
}
