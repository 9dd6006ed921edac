import { hostname, userInfo } from 'node:os';
import { UsageError } from '../errors.js';

// The same names a human may sign messages and approvals with (message-rules.ts).
const operatorPattern = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

/**
 * Who is running graft, as the session store and the audit log name them: GRAFT_OPERATOR, else
 * `user@host`. In team mode it is what roles are granted to (docs/team-mode.md); it is a name
 * the team agrees on, not a credential: the database account and the team key are those.
 */
export function operatorName(env: NodeJS.ProcessEnv): string {
  const given = env.GRAFT_OPERATOR?.trim();
  return checkOperatorName(
    given || `${safeUser()}@${hostname()}`,
    'GRAFT_OPERATOR',
    'Set it to the name your team knows you by, e.g. GRAFT_OPERATOR=ana@example.com',
  );
}

/** `name` as an operator name, or a UsageError saying `where` it came from and `fix`. */
export function checkOperatorName(name: string, where: string, fix: string): string {
  if (!operatorPattern.test(name)) {
    throw new UsageError(`${where} is ${JSON.stringify(name)}: an operator name is 1 to 64 letters, digits, '.', '_', '@', '+' or '-'`, [fix]);
  }
  return name;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid${process.getuid?.() ?? 'unknown'}`;
  }
}
