/** What the agent channel's messages may say and to whom: names, recipients and bodies, each refused with a usage error that says why. */
import { UsageError } from '../errors.js';

/** The recipient that reaches every human: `graft inbox`. */
export const humanRecipient = 'human';
/** The recipient that reaches every task of the session except the sender. */
export const broadcastRecipient = 'all';
/** The longest body a message, status line, question or answer may have, in characters. */
export const maxMessageBodyLength = 16_384;
/** Task names as the message store accepts them: safe in URLs, shell words and file names. */
export const taskNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const humanNamePattern = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

function shown(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

export function checkTask(name: string, role: string): string {
  if (typeof name !== 'string' || !taskNamePattern.test(name) || name === humanRecipient || name === broadcastRecipient) {
    throw new UsageError(
      `invalid ${role} ${shown(name)}: a task name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, and not "human" or "all"`,
    );
  }
  return name;
}

export function checkHumanName(who: string): string {
  if (typeof who !== 'string' || !humanNamePattern.test(who))
    throw new UsageError(`invalid human name ${shown(who)}: use 1 to 64 letters, digits, '.', '_', '@', '+' or '-' (e.g. your login name)`);
  return who;
}

export function checkSender(sender: string): void {
  if (typeof sender === 'string' && sender.startsWith('human:')) checkHumanName(sender.slice('human:'.length));
  else checkTask(sender, 'sender');
}

export function checkRecipient(recipient: string): void {
  if (recipient !== humanRecipient && recipient !== broadcastRecipient) checkTask(recipient, 'recipient (a task name, "human" or "all")');
}

export function checkBody(body: string, what: string): string {
  if (typeof body !== 'string' || body.trim() === '') throw new UsageError(`the ${what} is empty: say something`);
  if (body.length > maxMessageBodyLength)
    throw new UsageError(`the ${what} is ${body.length} characters long; the limit is ${maxMessageBodyLength}`, [
      'Put long content in a file in the worktree and send its path.',
    ]);
  return body;
}
