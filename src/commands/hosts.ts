import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { sessionFlag } from '../cli/flags.js';
import { hostView, renderHosts, type HostView } from '../cli/host-rows.js';
import { requireSession } from '../core/session/resolve-session.js';

export default class Hosts extends GraftCommand<typeof Hosts> {
  static override summary = "List the session's hosts.";
  static override description =
    "Shows name, address, login, state, slots, labels, isolation mode, how it enforces agent resource limits (cgroup-v1, cgroup-v2 or none) and whether /proc hides other accounts' processes from agents (hidepid or off), both once its first agent was made, and the pinned host-key fingerprint of every host.";
  static override examples = [
    '<%= config.bin %> hosts',
    '<%= config.bin %> hosts --session k3f9x2qa --json',
    { description: 'Include hosts that were destroyed', command: '<%= config.bin %> hosts --all' },
  ];

  static override flags = {
    session: sessionFlag,
    all: Flags.boolean({ char: 'a', description: 'Include destroyed hosts.', env: 'GRAFT_ALL' }),
  };

  async run(): Promise<{ session: string; hosts: HostView[] }> {
    const { store } = this.runtime();
    const session = requireSession(store, this.flags.session);
    this.joinSession(session, 'viewer', 'hosts');
    const hosts = store
      .listHosts(session.id)
      .filter((h) => this.flags.all || h.state !== 'destroyed')
      .map(hostView);
    this.log(hosts.length > 0 ? renderHosts(hosts) : `session ${session.id} has no hosts`);
    return { session: session.id, hosts };
  }
}
