/**
 * A stand-in for a vendor API in gateway tests: an HTTP server on 127.0.0.1 that records every
 * request it gets and answers with a recorded response (test/fixtures/gateway) split into
 * parts. Between parts it can wait on a promise the test resolves, so a test can hold the
 * rest of a stream back until it has seen the first part arrive. It is not a vendor mock: it
 * knows no API, only replays bytes (the full mocks are test/ mocks of part 1 of issue 14).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ReplayedResponse {
  status?: number;
  contentType: string;
  /** Sent one after another; before part i (i ≥ 1) the server waits for `waitBefore?.(i)`. */
  parts: (string | Buffer)[];
  waitBefore?: (part: number) => Promise<void> | undefined;
}

export interface RecordedUpstream {
  url: string;
  requests: RecordedRequest[];
  /** Set what the next requests get. */
  answer(response: ReplayedResponse): void;
  /** Resolves when the server has written the last part of a response. */
  lastPartSent(): Promise<void>;
  close(): Promise<void>;
}

export async function startRecordedUpstream(): Promise<RecordedUpstream> {
  const requests: RecordedRequest[] = [];
  let response: ReplayedResponse = { contentType: 'application/json', parts: ['{}'] };
  let lastSent: () => void = () => undefined;
  let lastSentPromise = new Promise<void>((resolve) => (lastSent = resolve));
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const current = response;
      void (async () => {
        res.writeHead(current.status ?? 200, { 'content-type': current.contentType });
        for (const [i, part] of current.parts.entries()) {
          if (i > 0) await current.waitBefore?.(i);
          res.write(part);
        }
        res.end();
        lastSent();
        lastSentPromise = new Promise<void>((resolve) => (lastSent = resolve));
      })();
    });
  });
  server.on('connection', (socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (next) => (response = next),
    lastPartSent: () => lastSentPromise,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
