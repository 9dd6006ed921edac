import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { renderTable } from '../cli/table.js';

export interface SessionView {
  id: string;
  status: string;
  provisioner: string;
  hosts: number;
  createdAt: string;
  /** Who started it (GRAFT_OPERATOR, else user@host); absent for sessions from before owners were recorded. */
  owner?: string;
}

export default class Sessions extends GraftCommand<typeof Sessions> {
  static override summary = 'List sessions, newest first.';
  static override description =
    "With a shared PostgreSQL store (team mode, GRAFT_DATABASE_URL), every operator's sessions are listed, each with its owner; commands run without --session pick among your own.";
  static override examples = [
    '<%= config.bin %> sessions',
    '<%= config.bin %> sessions --all --json',
    { description: "A team's sessions", command: 'GRAFT_DATABASE_URL=postgres://graft@db.internal/graft <%= config.bin %> sessions' },
  ];

  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'Include sessions that have ended.', env: 'GRAFT_ALL' }),
  };

  async run(): Promise<{ sessions: SessionView[] }> {
    const { store } = this.runtime();
    const sessions = store
      .listSessions()
      .filter((s) => this.flags.all || s.status !== 'ended')
      .map((s) => ({
        id: s.id,
        status: s.status,
        provisioner: s.provisioner,
        hosts: store.listHosts(s.id).filter((h) => h.state !== 'destroyed').length,
        createdAt: s.createdAt,
        ...(s.owner ? { owner: s.owner } : {}),
      }));
    this.log(
      sessions.length > 0
        ? renderTable(
            ['session', 'status', 'owner', 'provisioner', 'hosts', 'created'],
            sessions.map((s) => [s.id, s.status, s.owner ?? '-', s.provisioner, String(s.hosts), s.createdAt]),
          )
        : 'no sessions (start one with: graft up)',
    );
    return { sessions };
  }
}
