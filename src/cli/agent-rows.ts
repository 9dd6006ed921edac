import type { AgentRecord } from '../core/model/agent.js';
import { renderTable } from './table.js';

/** An agent as `graft agent ls` shows it and `--json` returns it (the record minus controller-side paths). */
export type AgentView = Omit<AgentRecord, 'keyFile'>;

export function agentView(agent: AgentRecord): AgentView {
  const { keyFile: _keyFile, ...view } = agent;
  return view;
}

export function renderAgents(agents: AgentView[]): string {
  return renderTable(
    ['agent', 'host', 'account', 'isolation', 'state', 'key expires', 'identity', 'secrets'],
    agents.map((a) => [a.name, a.host, a.account, a.isolation, a.state, a.keyExpiresAt.replace(/\.\d+Z$/, 'Z'), a.spiffeId || '-', a.secrets.join(',') || '-']),
  );
}
