/**
 * Metered requests written into a session's store as the model gateway writes them
 * (GatewayStore), so tests of what reads them (`graft cost`, the dashboard) know the figures
 * exactly; the gateway itself is tested against a live upstream in test/integration/gateway.
 */
import { join } from 'node:path';
import { GatewayStore } from '../../src/core/state/gateway-store.js';
import { StateStore } from '../../src/core/state/store.js';

export interface RecordedRequest {
  task: string;
  agent: string;
  model: string;
  /** Input, output, cache-read and cache-write tokens. */
  tokens: [number, number, number, number];
  /** Pico-dollars; null for a model without a price. */
  costPico: bigint | null;
}

/** Records each request (status 200) in the store of the graft home `home`. */
export function recordGatewayRequests(home: string, session: string, requests: RecordedRequest[]): void {
  const state = StateStore.open(join(home, 'state.db'));
  try {
    const store = new GatewayStore(state);
    for (const r of requests) {
      const grant = { task: r.task, attempt: 1, agent: r.agent, identity: r.task, vendor: 'anthropic' as const, expiresAt: '2099-01-01T00:00:00Z' };
      const [inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens] = r.tokens;
      store.finishRequest(
        store.startRequest(session, grant, r.model),
        200,
        { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, cacheWrite1hTokens: 0 },
        r.costPico,
      );
    }
  } finally {
    state.close();
  }
}
