import { Flags } from '@oclif/core';
import type { CompanionOptions } from '../core/dashboard/run-companions.js';
import { notifyTargetSchema } from '../core/notify/notify-target.js';
import { UsageError } from '../core/errors.js';

/** The flags `run` and `resume` share for what runs beside the controller: the dashboard and webhooks. */
export const companionFlags = {
  dashboard: Flags.boolean({
    description: "Serve the session's dashboard while the run is driven (prints a sign-in URL on stderr).",
    default: true,
    allowNo: true,
    env: 'GRAFT_DASHBOARD',
  }),
  listen: Flags.string({
    description: 'Address[:port] for the dashboard (default 127.0.0.1, a free port); not loopback means HTTPS.',
    env: 'GRAFT_DASHBOARD_LISTEN',
  }),
  notify: Flags.string({
    description: 'A webhook to tell when the run ends, a gate waits or an agent asks (repeatable; the env var takes a comma-separated list).',
    multiple: true,
    env: 'GRAFT_NOTIFY',
  }),
  by: Flags.string({
    description: 'Who approvals and answers made on the dashboard are recorded as (default: your login name; in team mode always your operator name).',
    env: 'GRAFT_APPROVER',
  }),
};

/** `approver`: who the dashboard records decisions as (session-access.ts's humanName of --by). */
export function companionOptions(flags: { dashboard: boolean; listen?: string; notify?: string[] }, approver: string): CompanionOptions {
  const urls = (flags.notify ?? [])
    .flatMap((u) => u.split(','))
    .map((u) => u.trim())
    .filter(Boolean);
  const notify = urls.map((url) => {
    const parsed = notifyTargetSchema.safeParse(url);
    if (!parsed.success) throw new UsageError(`--notify ${JSON.stringify(url)}: expected an http(s) URL of a webhook`);
    return parsed.data;
  });
  return { dashboard: flags.dashboard ? { listen: flags.listen } : false, notify, approver };
}
