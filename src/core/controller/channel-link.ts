/**
 * The controller's side of the agent channel (docs/channel.md): the mTLS server, one reverse
 * tunnel per host, the `graft-agent` helper on every host, and each agent's URL file. What agents
 * say through it lands in the task records: status lines, and `done`/`fail` with a summary, which
 * the controller reads when the attempt's process ends.
 */
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureSessionAuthority } from '../agents/session-identity.js';
import { installAgentHelper, openChannelTunnel, startChannel, writeChannelUrl, type ChannelServer, type ChannelTunnel } from '../channel/index.js';
import { UsageError } from '../errors.js';
import type { HostRecord } from '../provisioners/provisioner.js';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import { adminEndpoint } from '../session/endpoints.js';
import { MessageStore } from '../state/message-store.js';
import type { RunGraph, RunStore } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';

interface HostLink {
  tunnel: ChannelTunnel;
  helperDir: string;
}

export class ChannelLink {
  private readonly links = new Map<string, HostLink>();
  private closed = false;
  /** Ends relink waits at once when the link closes: the process must not outlive its run waiting on a timer. */
  private readonly closing = new AbortController();

  private constructor(
    private readonly runtime: GraftRuntime,
    private readonly session: SessionRow,
    private readonly runs: RunStore,
    private readonly server: ChannelServer,
  ) {}

  /** Starts the server and links every host of the session that is up and answers. */
  static async open(runtime: GraftRuntime, session: SessionRow, runs: RunStore, graph: RunGraph): Promise<ChannelLink> {
    const authority = await ensureSessionAuthority(session, sessionFiles(runtime, session.id).dir);
    const setReport = (task: string, reported: 'done' | 'fail', summary: string) => {
      const changed = runs.updateTask(session.id, task, (r) => (r.state === 'running' || r.state === 'starting' ? { ...r, reported, summary } : undefined));
      if (!changed) throw new UsageError(`${task} is not running`);
    };
    const server = await startChannel({
      sessionId: session.id,
      authority,
      store: MessageStore.of(runtime.store),
      events: runtime.events,
      // Agents are named after their tasks; only the agent of a task's live attempt speaks for it.
      identify: (agent) => {
        const task = runs.getTask(session.id, agent);
        return task && task.agent === agent && (task.state === 'running' || task.state === 'starting') ? { task: task.name } : undefined;
      },
      isTask: (name) => Object.hasOwn(graph.tasks, name),
      redact: (text) => runtime.redactor.redact(text),
      handlers: {
        status: (task, text) => void runs.updateTask(session.id, task, (r) => ({ ...r, status: text })),
        done: (task, summary) => setReport(task, 'done', summary),
        fail: (task, summary) => setReport(task, 'fail', summary),
      },
    });
    const link = new ChannelLink(runtime, session, runs, server);
    // A host that does not answer now (lost while no controller ran) must not keep the run from
    // resuming: its tasks find out through their own connections, and its tunnel is tried again.
    const hosts = runtime.store.listHosts(session.id).filter((h) => h.state === 'up');
    const linked = await Promise.allSettled(hosts.map((h) => link.linkHost(h)));
    linked.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') return;
      const host = hosts[i]!;
      runtime.events.emit({ code: 'warning', level: 'warn', message: `${host.name}: the agent channel cannot reach it yet (${(outcome.reason as Error).message}); trying again`, session: session.id, host: host.name });
      void link.relink(host.name);
    });
    return link;
  }

  /** Installs the helper and opens (or reopens, on the same port if it can) the host's tunnel. */
  private async linkHost(host: HostRecord): Promise<HostLink> {
    const helper = await installAgentHelper(this.runtime.pool, host, this.session.id, this.runtime.env);
    const preferred = Number(host.meta.channelPort) || undefined;
    const tunnel = await openChannelTunnel(this.runtime.pool, adminEndpoint(host, this.runtime.env), this.server.port, preferred);
    if (String(tunnel.remotePort) !== host.meta.channelPort) {
      this.runtime.store.putHost(this.session.id, { ...host, meta: { ...host.meta, channelPort: String(tunnel.remotePort) } });
      // Agents already running there (a resumed run) read the new address from their URL file.
      if (preferred) await this.repointAgents(host, tunnel.url);
    }
    const link = { tunnel, helperDir: dirname(helper) };
    this.links.set(host.name, link);
    void tunnel.ended.then(({ lost }) => (lost && !this.closed ? this.relink(host.name) : undefined));
    return link;
  }

  /** A tunnel dropped with its connection: reopen it when the host answers again, until the link closes. */
  private async relink(hostName: string): Promise<void> {
    for (let wait = 1_000; ; wait = Math.min(wait * 2, 30_000)) {
      try {
        await sleep(wait, undefined, { signal: this.closing.signal });
      } catch {
        return;
      }
      // The store closes with the run: nothing may touch it once the link is closed.
      if (this.closed) return;
      const host = this.runtime.store.listHosts(this.session.id).find((h) => h.name === hostName);
      if (!host || host.state !== 'up') return;
      try {
        await this.linkHost(host);
        return;
      } catch {
        // Still unreachable: try again later.
      }
    }
  }

  private async repointAgents(host: HostRecord, url: string): Promise<void> {
    for (const task of this.runs.listTasks(this.session.id)) {
      if (task.host !== host.name || (task.state !== 'running' && task.state !== 'starting') || !task.agent) continue;
      const agent = this.runtime.store.getAgent(this.session.id, task.agent);
      if (agent?.state === 'ready') await writeChannelUrl(this.runtime.pool, host, this.runtime.env, agent, url).catch(() => undefined);
    }
  }

  /** Where `graft-agent` is on a host, for the task's PATH. */
  helperDir(host: string): string[] {
    const link = this.links.get(host);
    return link ? [link.helperDir] : [];
  }

  /** The URL of a host's tunnel end, linking the host first if it is not yet; a new task's launcher writes it into its agent's URL file. */
  async url(host: HostRecord): Promise<string> {
    const link = this.links.get(host.name) ?? (await this.linkHost(host));
    return link.tunnel.url;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    await Promise.allSettled([...this.links.values()].map((l) => l.tunnel.close()));
    await this.server.close();
  }
}
