/**
 * The controller's end of the agent channel: an HTTPS server on 127.0.0.1 that accepts only
 * clients holding a certificate of this session's CA (mutual TLS), reached by agents through a
 * reverse SSH tunnel (tunnel.ts) and the `graft-agent` helper. Routes: docs/channel.md.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { UsageError } from '../errors.js';
import type { EventSink } from '../events.js';
import { listenOnLoopback } from '../loopback-listen.js';
import { issueServerCertificate, type SessionAuthority } from '../identity/index.js';
import { type MessageStore, type StoredMessage } from '../state/message-store.js';
import { maxMessageBodyLength } from '../state/message-rules.js';
import { AnswerWaits } from './answer-waits.js';
import { Callers, checkClaimedSender, type Caller } from './callers.js';
import { ChannelRefusal, readJsonBody, refusalOf, reply, replyRefusal, wantsText } from './http-exchange.js';
import { inertText, parseRequest, renderInbox, requestSchemas } from './protocol.js';

/** What the controller does when a task reports. A handler may return a promise; the agent waits for it. */
export interface ChannelHandlers {
  /** A task's status line, already stored in the message store. Errors are reported as warnings, not to the agent. */
  status(task: string, text: string): void | Promise<void>;
  /** The task says it succeeded. Throw a GraftError to refuse (the agent sees its message). May be called again for the same task when an agent retries: be idempotent. */
  done(task: string, summary: string): void | Promise<void>;
  /** The task says it failed. Same rules as `done`. */
  fail(task: string, summary: string): void | Promise<void>;
  /** Every message and question a task sent, once stored (for live display). */
  message?(message: StoredMessage): void;
}

/** Options of {@link startChannel}. */
export interface StartChannelOptions {
  sessionId: string;
  /** The session's authority: issues the server certificate and is the only CA clients may come from. */
  authority: SessionAuthority;
  store: MessageStore;
  /** Which task a live agent runs; undefined refuses the agent (removed, finished, unknown). Called on every request. */
  identify(agentName: string): { task: string } | undefined;
  /** Whether a task of this name exists, for message recipients. Without it any well-formed name is accepted. */
  isTask?(name: string): boolean;
  handlers: ChannelHandlers;
  /** Receives channel.started, channel.stopped, channel.refused and warnings. */
  events?: EventSink;
  /** The local port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Applied to all text agents send (status, messages, questions, summaries) before it is stored or passed on: the controller's secret redaction. */
  redact?(text: string): string;
  /** The longest one `ask` poll is held, in ms (default 25 000); the helper polls again. */
  longPollMs?: number;
  /** How often held polls look for answers written by other processes, in ms (default 500). */
  answerPollMs?: number;
}

/** A running channel server. */
export interface ChannelServer {
  /** The local port it listens on, on 127.0.0.1: what the tunnel forwards to. */
  readonly port: number;
  /** Stops listening, releases held polls and closes every connection. Idempotent. */
  close(): Promise<void>;
}

type Route = (caller: Caller, request: IncomingMessage, text: boolean, signal: AbortSignal) => Promise<{ status: number; json?: unknown; plain?: string }>;

/** Starts the channel server; see {@link StartChannelOptions}. */
export async function startChannel(options: StartChannelOptions): Promise<ChannelServer> {
  const { sessionId, store, handlers, events } = options;
  const certificate = await issueServerCertificate(options.authority, { ipAddress: '127.0.0.1' });
  const callers = new Callers(options.authority.caCertPem, sessionId, options.identify);
  const waits = new AnswerWaits(options.answerPollMs ?? 500);
  const longPollMs = options.longPollMs ?? 25_000;
  /** Agents' text as graft keeps it: redacted (as sent, so a value with control characters is still found), then inert. */
  const agentText = (text: string) => inertText(options.redact ? options.redact(text) : text);
  const warn = (message: string, data?: Record<string, unknown>) =>
    events?.emit({ code: 'warning', level: 'warn', message, session: sessionId, ...(data ? { data } : {}) });

  const notify = (message: StoredMessage) => {
    try {
      handlers.message?.(message);
    } catch (error) {
      warn(`the message handler failed for message ${message.id}: ${(error as Error).message}`);
    }
  };

  const finish =
    (outcome: 'done' | 'fail'): Route =>
    async (caller, request) => {
      const body = parseRequest(requestSchemas.finish, await readJsonBody(request));
      checkClaimedSender(caller, body);
      if (body.summary.length > maxMessageBodyLength)
        throw new UsageError(`the summary is ${body.summary.length} characters long; the limit is ${maxMessageBodyLength}`);
      await handlers[outcome](caller.task, agentText(body.summary));
      return { status: 204 };
    };

  const routes: Record<string, Route> = {
    'POST /v1/status': async (caller, request) => {
      const body = parseRequest(requestSchemas.status, await readJsonBody(request));
      checkClaimedSender(caller, body);
      const stored = store.recordStatus(sessionId, caller.task, agentText(body.text));
      await (async () => handlers.status(caller.task, stored.body))().catch((error: Error) =>
        warn(`the status handler failed for task ${caller.task}: ${error.message}`),
      );
      return { status: 204 };
    },
    'POST /v1/messages': async (caller, request) => {
      const body = parseRequest(requestSchemas.message, await readJsonBody(request));
      checkClaimedSender(caller, body);
      if (options.isTask && body.to !== 'human' && body.to !== 'all' && !options.isTask(body.to)) {
        throw new ChannelRefusal(
          404,
          'NO_SUCH_TASK',
          `session ${sessionId} has no task ${JSON.stringify(body.to.slice(0, 64))}: send to a task name, "human" or "all"`,
        );
      }
      const stored = store.send(sessionId, { from: caller.task, to: body.to, body: agentText(body.text), ...(body.key ? { key: body.key } : {}) });
      notify(stored);
      return { status: 201, json: { id: stored.id, to: stored.recipient }, plain: `sent message ${stored.id} to ${stored.recipient}\n` };
    },
    'POST /v1/inbox': async (caller, request) => {
      const body = parseRequest(requestSchemas.inbox, await readJsonBody(request));
      checkClaimedSender(caller, body);
      const inbox = store.takeInbox(sessionId, caller.task, { limit: body.limit ?? 100 });
      return { status: 200, json: inbox, plain: renderInbox(inbox.messages, inbox.remaining) };
    },
    'POST /v1/questions': async (caller, request) => {
      const body = parseRequest(requestSchemas.question, await readJsonBody(request));
      checkClaimedSender(caller, body);
      const question = store.ask(sessionId, { from: caller.task, body: agentText(body.text), ...(body.key ? { key: body.key } : {}) });
      notify(question);
      return { status: 201, json: { id: question.id }, plain: `${question.id}\n` };
    },
    'POST /v1/done': finish('done'),
    'POST /v1/fail': finish('fail'),
  };

  /** GET /v1/questions/<id>?wait=<seconds>: the answer (200), or 204 when none came in time. */
  const answerRoute =
    (id: number): Route =>
    async (caller, request, _text, signal) => {
      const wait = Number(new URL(request.url ?? '/', 'https://channel').searchParams.get('wait') ?? 0);
      const waitMs = Number.isFinite(wait) && wait > 0 ? Math.min(wait * 1000, longPollMs) : 0;
      const answer = await waits.wait(() => store.takeAnswer(sessionId, caller.task, id), waitMs, signal);
      return answer ? { status: 200, json: { question: id, answer }, plain: `${answer.body}\n` } : { status: 204 };
    };

  const refuse = (response: ServerResponse, text: boolean, refusal: ChannelRefusal, caller?: Caller) => {
    // A refused request's body may be unread: end the connection rather than parse the rest.
    response.setHeader('connection', 'close');
    // Identity refusals are security events: recorded (audit log) with who the certificate said.
    if (refusal.status === 403) {
      events?.emit({
        code: 'channel.refused',
        level: 'warn',
        message: `agent channel refused a request${caller ? ` from agent ${caller.agent} (task ${caller.task})` : ''}: ${refusal.message}`,
        session: sessionId,
        data: { reason: refusal.code, ...(caller ? { agent: caller.agent, task: caller.task } : {}) },
      });
    }
    replyRefusal(response, text, refusal);
  };

  const server: Server = createServer(
    // Client certificates are verified by OpenSSL against the session CA alone. The handshake is
    // not aborted when that fails (rejectUnauthorized: false) only so the refusal can be said:
    // Node would drop the connection without a TLS alert, which the helper cannot tell from a
    // restarting controller and would retry for minutes. Every request on an unverified
    // connection is refused (403) before it is routed or its body read (Callers.of).
    {
      key: certificate.keyPem,
      cert: certificate.certPem,
      ca: options.authority.caCertPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (request, response) => {
      const text = wantsText(request);
      const gone = new AbortController();
      response.on('close', () => gone.abort());
      let caller: Caller | undefined;
      void (async () => {
        caller = callers.of(request.socket as TLSSocket);
        const path = new URL(request.url ?? '/', 'https://channel').pathname;
        const question = /^\/v1\/questions\/([1-9][0-9]{0,15})$/.exec(path);
        const route = question && request.method === 'GET' ? answerRoute(Number(question[1])) : routes[`${request.method} ${path}`];
        if (!route) throw new ChannelRefusal(404, 'NO_ROUTE', `no route ${request.method} ${path} (see graft-agent --help)`);
        const result = await route(caller, request, text, gone.signal);
        reply(response, text, result.status, result.json, result.plain);
      })().catch((error: unknown) => {
        const refusal = refusalOf(error);
        if (refusal) return refuse(response, text, refusal, caller);
        warn(`agent channel: ${request.method} ${request.url} failed: ${error instanceof Error ? error.message : String(error)}`);
        replyRefusal(response, text, new ChannelRefusal(500, 'INTERNAL', 'the controller failed to handle this request; see its log'));
      });
    },
  );
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  // A handshake that failed outright (not TLS, no common cipher) never reaches a route; record it here.
  server.on('tlsClientError', (error) =>
    events?.emit({
      code: 'channel.refused',
      level: 'warn',
      message: `agent channel refused a TLS client: ${error.message}`,
      session: sessionId,
      data: { reason: 'TLS' },
    }),
  );

  const port = await listenOnLoopback(server, options.port ?? 0, 'the agent channel');
  events?.emit({ code: 'channel.started', level: 'debug', message: `agent channel listening on 127.0.0.1:${port}`, session: sessionId, data: { port } });
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        waits.releaseAll();
        server.closeAllConnections();
      }).then(() => events?.emit({ code: 'channel.stopped', level: 'debug', message: `agent channel on 127.0.0.1:${port} stopped`, session: sessionId }));
      return closing;
    },
  };
}
