/**
 * An HTTP proxy in front of moto that plays two things moto cannot: an availability zone out
 * of capacity (RunInstances into chosen subnets answers EC2's own InsufficientInstanceCapacity
 * error, HTTP 500 with the EC2 XML error body), and a RunInstances whose answer never arrives
 * (the call reaches moto, which starts the instance, but the caller is never answered). Every
 * other request passes through unchanged. See SPEC.md beside this file.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export class Ec2Proxy {
  private server?: Server;
  /** Subnets where RunInstances fails for lack of capacity. */
  readonly exhaustedSubnets = new Set<string>();
  /** When set, RunInstances is forwarded but its answer is held back forever. */
  holdRunInstances = false;
  /** RunInstances calls seen, with their subnet and whether they were answered with a capacity error. */
  readonly runInstances: { subnet: string; refused: boolean }[] = [];
  endpoint = '';

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this.endpoint;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const params = new URLSearchParams(body.toString('utf8'));
    if (params.get('Action') === 'RunInstances') {
      const subnet = params.get('NetworkInterface.1.SubnetId') ?? params.get('SubnetId') ?? '';
      const refused = this.exhaustedSubnets.has(subnet);
      this.runInstances.push({ subnet, refused });
      if (refused) {
        res.writeHead(500, { 'content-type': 'text/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InsufficientInstanceCapacity</Code><Message>We currently do not have sufficient capacity in the Availability Zone of ${subnet}.</Message></Error></Errors><RequestID>fake-${Date.now()}</RequestID></Response>`,
        );
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers)) if (typeof value === 'string' && key !== 'host' && key !== 'content-length') headers[key] = value;
    const answer = await fetch(`${this.target}${req.url ?? '/'}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    const text = Buffer.from(await answer.arrayBuffer());
    if (params.get('Action') === 'RunInstances' && this.holdRunInstances) return; // moto made it; the caller never hears
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/xml' });
    res.end(text);
  }
}

/** Mocha hooks: a proxy in front of `target()` (moto) for the describe, cleared before each test. */
export function useEc2Proxy(target: () => string): { readonly proxy: Ec2Proxy } {
  let proxy: Ec2Proxy | undefined;
  before(async () => {
    proxy = new Ec2Proxy(target());
    await proxy.start();
  });
  beforeEach(() => {
    proxy!.exhaustedSubnets.clear();
    proxy!.runInstances.length = 0;
    proxy!.holdRunInstances = false;
  });
  after(async () => {
    await proxy?.stop();
  });
  return {
    get proxy(): Ec2Proxy {
      if (!proxy) throw new Error('the proxy is not started yet (use it inside a test)');
      return proxy;
    },
  };
}
