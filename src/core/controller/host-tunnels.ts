/**
 * One reverse tunnel per host to a local port (the agent channel's, the model gateway's), opened
 * over the session admin's pooled connection, remembered in the host's record so a restarted
 * controller asks for the same remote port, and reopened when its connection drops.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openChannelTunnel, type ChannelTunnel } from '../channel/index.js';
import type { HostRecord } from '../model/host.js';
import type { GraftRuntime } from '../runtime.js';
import { HostShell } from '../hosts/host-shell.js';
import type { SessionRow } from '../state/store.js';

export class HostTunnels {
  private readonly tunnels = new Map<string, Promise<ChannelTunnel>>();
  private closed = false;
  private readonly closing = new AbortController();

  constructor(
    private readonly runtime: GraftRuntime,
    private readonly session: SessionRow,
    private readonly localPort: number,
    /** The key of the host's `meta` that records the remote port. */
    private readonly metaKey: string,
    /** Called when a host's tunnel came back on another remote port than before. */
    private readonly onMoved?: (host: HostRecord, tunnel: ChannelTunnel) => Promise<void>,
  ) {}

  /** The host's tunnel, opened (once, even when asked for concurrently) if it is not yet. */
  tunnel(host: HostRecord): Promise<ChannelTunnel> {
    let open = this.tunnels.get(host.name);
    if (!open) {
      open = this.open(host);
      this.tunnels.set(host.name, open);
      open.catch(() => this.tunnels.delete(host.name));
    }
    return open;
  }

  private async open(host: HostRecord): Promise<ChannelTunnel> {
    const fresh = this.runtime.store.listHosts(this.session.id).find((h) => h.name === host.name) ?? host;
    const preferred = Number(fresh.meta[this.metaKey]) || undefined;
    const tunnel = await openChannelTunnel(HostShell.admin(this.runtime.pool, fresh, this.runtime.env), this.localPort, preferred);
    if (String(tunnel.remotePort) !== fresh.meta[this.metaKey]) {
      // Read again: another kind of tunnel to this host may have recorded its port meanwhile.
      const latest = this.runtime.store.listHosts(this.session.id).find((h) => h.name === host.name) ?? fresh;
      this.runtime.store.putHost(this.session.id, { ...latest, meta: { ...latest.meta, [this.metaKey]: String(tunnel.remotePort) } });
      if (preferred) await this.onMoved?.(fresh, tunnel);
    }
    void tunnel.ended.then(({ lost }) => {
      if (!lost || this.closed) return;
      // Dropped with its connection: reopened when the host answers again.
      this.tunnels.delete(host.name);
      void this.retry(host.name, (h) => this.tunnel(h));
    });
    return tunnel;
  }

  /**
   * Tries `link` for the host again and again (1 s, 2 s, 4 s … at most 30 s apart) until it
   * succeeds, the host is no longer up, or the tunnels close: a host that did not answer must
   * not keep the run from going on.
   */
  async retry(hostName: string, link: (host: HostRecord) => Promise<unknown>): Promise<void> {
    for (let wait = 1_000; ; wait = Math.min(wait * 2, 30_000)) {
      try {
        await sleep(wait, undefined, { signal: this.closing.signal });
      } catch {
        return;
      }
      // The store closes with the run: nothing may touch it once closed.
      if (this.closed) return;
      const host = this.runtime.store.listHosts(this.session.id).find((h) => h.name === hostName);
      if (!host || host.state !== 'up') return;
      try {
        await link(host);
        return;
      } catch {
        // Still unreachable: try again later.
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    const open = [...this.tunnels.values()];
    this.tunnels.clear();
    await Promise.allSettled(open.map(async (t) => (await t).close()));
  }
}
