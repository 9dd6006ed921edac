/**
 * The controller's side of the agent channel (docs/channel.md): the mTLS server, one reverse
 * tunnel per host, the `graft-agent` helper on every host, and each agent's URL file. What agents
 * say through it lands in the task records: status lines, and `done`/`fail` with a summary, which
 * the controller reads when the attempt's process ends.
 */
import { dirname } from 'node:path';
import { ensureSessionAuthority } from '../agents/session-identity.js';
import { installAgentHelper, startChannel, writeChannelUrl, type ChannelServer } from '../channel/index.js';
import { UsageError } from '../errors.js';
import type { HostRecord } from '../model/host.js';
import { sessionFiles, type GraftRuntime } from '../runtime.js';
import { MessageStore } from '../state/message-store.js';
import type { RunGraph, RunStore } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import { HostTunnels } from './host-tunnels.js';

export class ChannelLink {
  /** Where the helper is on each host linked so far. */
  private readonly helperDirs = new Map<string, string>();
  private readonly tunnels: HostTunnels;

  private constructor(
    private readonly runtime: GraftRuntime,
    private readonly session: SessionRow,
    private readonly runs: RunStore,
    private readonly server: ChannelServer,
  ) {
    // Agents already running on a host whose tunnel came back elsewhere (a resumed run) read the new address from their URL file.
    this.tunnels = new HostTunnels(runtime, session, server.port, 'channelPort', (host, tunnel) => this.repointAgents(host, tunnel.url));
  }

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
      runtime.events.emit({
        code: 'warning',
        level: 'warn',
        message: `${host.name}: the agent channel cannot reach it yet (${(outcome.reason as Error).message}); trying again`,
        session: session.id,
        host: host.name,
      });
      void link.tunnels.retry(host.name, (h) => link.linkHost(h));
    });
    return link;
  }

  /** Installs the helper and opens (or reopens, on the same port if it can) the host's tunnel. */
  private async linkHost(host: HostRecord): Promise<void> {
    const helper = await installAgentHelper(this.runtime.pool, host, this.session.id, this.runtime.env);
    this.helperDirs.set(host.name, dirname(helper));
    await this.tunnels.tunnel(host);
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
    const dir = this.helperDirs.get(host);
    return dir ? [dir] : [];
  }

  /** The URL of a host's tunnel end, linking the host first if it is not yet; a new task's launcher writes it into its agent's URL file. */
  async url(host: HostRecord): Promise<string> {
    if (!this.helperDirs.has(host.name)) await this.linkHost(host);
    return (await this.tunnels.tunnel(host)).url;
  }

  /** The loopback port of a host's tunnel end, linking the host first if it is not yet: an agent's network rules let it through. */
  async port(host: HostRecord): Promise<number> {
    if (!this.helperDirs.has(host.name)) await this.linkHost(host);
    return (await this.tunnels.tunnel(host)).remotePort;
  }

  async close(): Promise<void> {
    await this.tunnels.close();
    await this.server.close();
  }
}
