import { SecurityError, SshError, type GraftError } from '../../errors.js';
import type { HostShell } from '../../hosts/host-shell.js';
import { pollUntil, type PollPacing } from './backoff.js';

/** Longest single attempt: a VM that accepts TCP but stalls must not eat the whole deadline in one try. */
const ATTEMPT_MS = 15_000;

/**
 * Waits until the VM's admin login works over SSH with its pinned host keys: sshd may not
 * listen yet, or cloud-init may not have made the account yet (authentication fails until
 * it has). Those are tried again until `deadline`; a host key other than the pinned ones is
 * refused at once, never retried.
 */
export async function waitForSsh(shell: HostShell, pacing: PollPacing, deadline: number): Promise<void> {
  let last: GraftError | undefined;
  const ok = await pollUntil(
    async () => {
      try {
        await shell.probe(Math.max(1000, Math.min(ATTEMPT_MS, deadline - Date.now())));
        return true;
      } catch (error) {
        if (error instanceof SecurityError) throw error;
        last = error as GraftError;
        return undefined;
      }
    },
    pacing,
    deadline,
  );
  if (!ok) {
    throw new SshError(`${shell.label} did not accept the session admin key before the deadline: ${last?.message ?? 'no answer'}`, 'SSH_TIMEOUT', {
      cause: last,
      actions: ["Look at the VM's console output for cloud-init errors."],
    });
  }
}
