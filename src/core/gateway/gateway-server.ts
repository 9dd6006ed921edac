/**
 * The session's model gateway: an HTTP server on the controller's 127.0.0.1 that agents reach
 * through a reverse SSH tunnel (docs/gateway.md). Each request carries a per-task gateway token
 * where the vendor's key would be; the gateway checks it, the model and the budgets, then
 * forwards with the real key and streams the answer back, metering what it used.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { EventSink } from '../events.js';
import { listenOnLoopback } from '../loopback-listen.js';
import type { GatewayStore, TokenGrant } from '../state/gateway-store.js';
import type { SpentBudget } from './budgets.js';
import { describeScope } from './budgets.js';
import { forward } from './forward.js';
import { formatUsd, microToUsd, picoToUsd } from './money.js';
import { modelAllowed } from './model-policy.js';
import type { PriceTable } from './prices.js';
import { vendors, type RefusalKind, type Vendor } from './vendors.js';
import { type VendorName } from '../model/usage.js';

/** The largest request body forwarded: a long conversation with images fits; anything larger is refused. */
export const maxGatewayBodyBytes = 64 * 1024 * 1024;

export interface GatewayOptions {
  sessionId: string;
  store: GatewayStore;
  prices: PriceTable;
  /** Upstream base URL per vendor (docs/gateway.md, "Upstreams"). */
  upstreams: Record<VendorName, string>;
  /** The vendor's real key for a token's agent, or undefined when none is granted to it. Never leaves this process except upstream. */
  vendorKey(grant: TokenGrant): string | undefined;
  /** Whether the token's agent still runs its task's current attempt; a token of a finished attempt is refused. */
  isLive(grant: TokenGrant): boolean;
  /** Model globs the token's agent may call. */
  allowedModels(grant: TokenGrant): readonly string[];
  /** A budget that applies to the token's task and is spent, or undefined. */
  spentBudget(grant: TokenGrant): SpentBudget | undefined;
  /** A request was refused for a spent budget: the controller ends the attempt. */
  onBudgetExceeded?(grant: TokenGrant, budget: SpentBudget): void;
  /** A metered request ended (for live cost displays). */
  onUsage?(grant: TokenGrant): void;
  events?: EventSink;
  /** The local port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
}

export interface ModelGateway {
  readonly port: number;
  close(): Promise<void>;
}

class Refusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
  ) {
    super(message);
  }
}

export async function startGateway(options: GatewayOptions): Promise<ModelGateway> {
  const { sessionId, store, events } = options;
  const unpriced = new Set<string>();
  const emit = (
    code: 'gateway.refused' | 'gateway.budget-exceeded' | 'gateway.usage' | 'warning',
    level: 'debug' | 'warn',
    message: string,
    data?: Record<string, unknown>,
  ) => events?.emit({ code, level, message, session: sessionId, ...(data ? { data } : {}) });

  /** The token's grant, or a refusal saying why it is not good (recorded: a bad token is a security event). */
  const authenticate = (vendor: Vendor, request: IncomingMessage, url: URL): TokenGrant => {
    const token = vendor.callerKey(request.headers, url);
    if (!token) throw new Refusal('unauthenticated', 'no API key was sent: graft agents use the per-task gateway token graft sets in their environment');
    const grant = store.findToken(sessionId, token);
    if (!grant) throw new Refusal('unauthenticated', `this key is not a gateway token of graft session ${sessionId}`);
    const who = `task ${grant.task} (agent ${grant.identity}, attempt ${grant.attempt})`;
    if (grant.revokedAt) throw new Refusal('unauthenticated', `the gateway token of ${who} was revoked at ${grant.revokedAt}`);
    if (Date.parse(grant.expiresAt) <= Date.now()) throw new Refusal('unauthenticated', `the gateway token of ${who} expired at ${grant.expiresAt}`);
    if (grant.vendor !== vendor.name) throw new Refusal('unauthenticated', `the gateway token of ${who} is for the ${grant.vendor} API, not ${vendor.name}`);
    if (!options.isLive(grant)) throw new Refusal('unauthenticated', `${who} is no longer running, so its gateway token is no longer good`);
    return grant;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://gateway');
    const [, prefix = '', ...rest] = url.pathname.split('/');
    const vendor = (vendors as Record<string, Vendor | undefined>)[prefix];
    if (!vendor || !Object.hasOwn(vendors, prefix)) {
      response
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `no vendor at /${prefix}: graft's gateway serves /anthropic, /openai and /gemini` } }));
      return;
    }
    const path = `/${rest.join('/')}`;
    let grant: TokenGrant | undefined;
    try {
      grant = authenticate(vendor, request, url);
      const body = await readBody(request);
      const model = vendor.model(path, parseJson(body, request));
      const metered = vendor.metered(request.method ?? 'GET', path);
      if (metered && !model) throw new Refusal('bad-request', 'the request names no model');
      if (model && !modelAllowed(model, options.allowedModels(grant))) {
        throw new Refusal(
          'forbidden-model',
          `graft refused model ${model} for task ${grant.task}: agent ${grant.agent} may use ${options.allowedModels(grant).join(', ')} (its models: list in the graph)`,
        );
      }
      const key = options.vendorKey(grant);
      if (!key) throw new Refusal('no-vendor-key', `agent ${grant.agent} is granted no ${vendor.name} key: add ${vendor.keyNames.join(' or ')} to its secrets`);
      if (metered) {
        const spent = options.spentBudget(grant);
        if (spent) {
          const message = `graft refused this request: the budget of ${describeScope(spent)} (${formatUsd(microToUsd(spent.microUsd))}) is spent (${formatUsd(picoToUsd(spent.spentPico))}); raise it with: graft extend --budget ...`;
          emit('gateway.budget-exceeded', 'warn', `${grant.task}: ${message}`, {
            task: grant.task,
            attempt: grant.attempt,
            agent: grant.agent,
            scope: spent.scope,
            name: spent.name,
            budgetUsd: microToUsd(spent.microUsd),
            spentUsd: picoToUsd(spent.spentPico),
          });
          options.onBudgetExceeded?.(grant, spent);
          throw new Refusal('budget-exceeded', message);
        }
      }
      const upstream = new URL(options.upstreams[vendor.name].replace(/\/+$/, '') + path + url.search);
      let row: number | undefined;
      const outcome = await forward({ vendor, url: upstream, method: request.method ?? 'GET', headers: request.headers, body, key }, response, () => {
        if (metered) row = store.startRequest(sessionId, grant!, model!);
      }).catch((error: Error) => {
        if (row !== undefined)
          store.finishRequest(row, 502, { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cacheWrite1hTokens: 0 }, 0n);
        throw new Refusal('upstream-unreachable', `graft's gateway could not reach ${upstream.origin}: ${error.message}`);
      });
      if (row === undefined) return;
      const cost = options.prices.cost(model!, outcome.usage);
      if (cost === undefined && !unpriced.has(model!)) {
        unpriced.add(model!);
        emit(
          'warning',
          'warn',
          `model ${model} has no price in graft's price table: its requests are metered in tokens and their cost shows as "unknown" (add it with GRAFT_PRICES, see docs/gateway.md)`,
          { model },
        );
      }
      store.finishRequest(row, outcome.status, outcome.usage, cost ?? null);
      emit(
        'gateway.usage',
        'debug',
        `${grant.task}: ${model} ${outcome.usage.inputTokens} in / ${outcome.usage.outputTokens} out${cost === undefined ? '' : `, ${formatUsd(picoToUsd(cost))}`}`,
        {
          task: grant.task,
          attempt: grant.attempt,
          agent: grant.agent,
          model,
          status: outcome.status,
          ...outcome.usage,
          costUsd: cost === undefined ? null : picoToUsd(cost),
        },
      );
      options.onUsage?.(grant);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      if (error.kind === 'unauthenticated' || error.kind === 'forbidden-model') {
        emit('gateway.refused', 'warn', `model gateway refused a ${vendor.name} request${grant ? ` of task ${grant.task}` : ''}: ${error.message}`, {
          vendor: vendor.name,
          reason: error.kind,
          ...(grant ? { task: grant.task, agent: grant.agent, attempt: grant.attempt } : {}),
        });
      }
      if (response.headersSent) return void response.destroy();
      const { status, body } = vendor.error(error.kind, error.message);
      const text = JSON.stringify(body);
      response
        .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(error.kind === 'unauthenticated' ? {} : {}) })
        .end(text);
    }
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      emit('warning', 'warn', `model gateway: ${request.method} ${new URL(request.url ?? '/', 'http://gateway').pathname} failed: ${error.message}`);
      if (!response.headersSent)
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"graft\'s gateway failed; see the controller\'s log"}}');
      else response.destroy();
    });
  });
  server.on('connection', (socket) => socket.setNoDelay(true));
  server.headersTimeout = 30_000;
  // A streamed answer may run for many minutes; the request (body) itself must arrive promptly.
  server.requestTimeout = 120_000;
  const port = await listenOnLoopback(server, options.port ?? 0, 'the model gateway');
  events?.emit({
    code: 'gateway.started',
    level: 'debug',
    message: `model gateway listening on 127.0.0.1:${port}`,
    session: sessionId,
    data: { port, upstreams: options.upstreams },
  });
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => events?.emit({ code: 'gateway.stopped', level: 'debug', message: `model gateway on 127.0.0.1:${port} stopped`, session: sessionId }));
      return closing;
    },
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxGatewayBodyBytes) throw new Refusal('bad-request', `the request body is over graft's gateway limit of ${maxGatewayBodyBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer, request: IncomingMessage): unknown {
  if (body.length === 0 || !String(request.headers['content-type'] ?? '').includes('json')) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new Refusal('bad-request', 'the request body is not valid JSON');
  }
}
