/**
 * A fake Compute Engine REST server: the part of compute/v1 graft uses, over plain HTTP/JSON on
 * loopback, for the real @google-cloud/compute client (fallback REST transport). Behaviour is
 * specified in SPEC.md beside this file; tests steer it through the methods below, in process.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface FakeInstance {
  project: string;
  zone: string;
  name: string;
  status: 'PROVISIONING' | 'RUNNING' | 'STOPPING';
  labels: Record<string, string>;
  labelFingerprint: string;
  /** The request body as inserted. */
  resource: Record<string, unknown>;
  natIP: string;
  serial: string;
  createdAt: number;
  deleteAt?: number;
}

interface FakeOperation {
  name: string;
  zone: string;
  operationType: string;
  targetLink: string;
  doneAt: number;
  error?: { errors: { code: string; message: string }[] };
}

export interface FakeGceOptions {
  /** How long an instance stays PROVISIONING, an operation RUNNING, a deleted instance STOPPING (ms). */
  bootMs?: number;
  operationMs?: number;
  deleteMs?: number;
}

const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const MAX_PAGE = 500;

export class FakeGce {
  private server?: Server;
  private readonly instancesByKey = new Map<string, FakeInstance>();
  private readonly operations = new Map<string, FakeOperation>();
  private readonly requestIds = new Map<string, string>();
  private readonly exhausted = new Set<string>();
  private sequence = 0;
  /** Every request: method and path (without query), for tests that count calls. */
  readonly requests: { method: string; path: string; authorization?: string }[] = [];
  port = 0;

  constructor(private readonly options: FakeGceOptions = {}) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  reset(): void {
    for (const map of [this.instancesByKey, this.operations, this.requestIds]) map.clear();
    this.exhausted.clear();
    this.requests.length = 0;
  }

  /** From now on, inserts in the zone fail with ZONE_RESOURCE_POOL_EXHAUSTED. */
  exhaustZone(zone: string): void {
    this.exhausted.add(zone);
  }

  /** Every instance that exists (any project, zone and state). */
  instances(): FakeInstance[] {
    this.settle();
    return [...this.instancesByKey.values()];
  }

  /** Appends to the instance's serial port 1 output. */
  appendSerial(zone: string, name: string, text: string): void {
    const instance = [...this.instancesByKey.values()].find((i) => i.zone === zone && i.name === name);
    if (!instance) throw new Error(`no instance ${zone}/${name}`);
    instance.serial += text;
  }

  /** Applies what time has done: boots finish, deletions complete. */
  private settle(): void {
    const now = Date.now();
    for (const [key, instance] of this.instancesByKey) {
      if (instance.deleteAt !== undefined && now >= instance.deleteAt) this.instancesByKey.delete(key);
      else if (instance.status === 'PROVISIONING' && now - instance.createdAt >= (this.options.bootMs ?? 50)) instance.status = 'RUNNING';
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, authorization: req.headers.authorization });
    this.settle();
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    const fail = (status: number, reason: string, message: string) =>
      send(status, { error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });
    const m = /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/(instances|operations)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return fail(404, 'notFound', `no such resource: ${url.pathname}`);
    const [, project = '', zone = '', collection, name, verb] = m;
    if (collection === 'operations') {
      const operation = name ? this.operations.get(name) : undefined;
      if (!operation || operation.zone !== zone) return fail(404, 'notFound', `The resource 'operations/${name}' was not found`);
      if (verb === 'wait' && req.method === 'POST') {
        // Like Compute Engine: return when done, or after a while with the operation still running.
        const until = Math.min(operation.doneAt, Date.now() + 2000);
        if (until > Date.now()) await new Promise((r) => setTimeout(r, until - Date.now()));
      } else if (verb !== undefined || req.method !== 'GET') return fail(400, 'badRequest', 'unsupported operations call');
      return send(200, this.operationView(operation, project));
    }
    const key = `${project}/${zone}/${name}`;
    if (!name) {
      if (req.method === 'POST') return this.insert(project, zone, body, url.searchParams.get('requestId'), send, fail);
      if (req.method === 'GET') return this.list(project, zone, url.searchParams, send, fail);
      return fail(405, 'badRequest', 'method not allowed');
    }
    const instance = this.instancesByKey.get(key);
    if (!instance) return fail(404, 'notFound', `The resource 'projects/${project}/zones/${zone}/instances/${name}' was not found`);
    if (!verb && req.method === 'GET') return send(200, this.instanceView(instance));
    if (!verb && req.method === 'DELETE') {
      instance.status = 'STOPPING';
      instance.deleteAt ??= Date.now() + (this.options.deleteMs ?? 30);
      return send(200, this.operationView(this.newOperation(zone, 'delete', key), project));
    }
    if (verb === 'serialPort' && req.method === 'GET') {
      const start = Number(url.searchParams.get('start') ?? 0);
      return send(200, {
        kind: 'compute#serialPortOutput',
        contents: instance.serial.slice(start),
        start: String(start),
        next: String(instance.serial.length),
      });
    }
    if (verb === 'setLabels' && req.method === 'POST') {
      if (body.labelFingerprint !== instance.labelFingerprint)
        return fail(412, 'conditionNotMet', 'Labels fingerprint either invalid or resource labels have changed');
      const problem = checkLabels(body.labels);
      if (problem) return fail(400, 'invalid', problem);
      instance.labels = { ...(body.labels as Record<string, string>) };
      instance.labelFingerprint = fingerprint(instance.labels);
      return send(200, this.operationView(this.newOperation(zone, 'setLabels', key), project));
    }
    return fail(400, 'badRequest', `unsupported call ${req.method} ${url.pathname}`);
  }

  private insert(
    project: string,
    zone: string,
    body: Record<string, unknown>,
    requestId: string | null,
    send: (s: number, j: unknown) => void,
    fail: (s: number, r: string, m: string) => void,
  ): void {
    // Request ids are remembered per zone, as Compute Engine scopes a zonal request.
    const requestKey = requestId ? `${project}/${zone}/${requestId}` : undefined;
    if (requestKey && this.requestIds.has(requestKey)) return send(200, this.operationView(this.operations.get(this.requestIds.get(requestKey)!)!, project));
    const name = String(body.name ?? '');
    if (!NAME.test(name)) return fail(400, 'invalid', `Invalid value for field 'resource.name': '${name}'`);
    if (typeof body.machineType !== 'string' || !body.machineType.includes(`zones/${zone}/machineTypes/`))
      return fail(400, 'invalid', "Invalid value for field 'resource.machineType'");
    const problem = checkLabels(body.labels ?? {});
    if (problem) return fail(400, 'invalid', problem);
    const key = `${project}/${zone}/${name}`;
    if (this.instancesByKey.has(key)) return fail(409, 'alreadyExists', `The resource 'projects/${project}/zones/${zone}/instances/${name}' already exists`);
    const operation = this.newOperation(zone, 'insert', key);
    if (requestKey) this.requestIds.set(requestKey, operation.name);
    if (this.exhausted.has(zone)) {
      operation.error = {
        errors: [
          {
            code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
            message: `The zone 'projects/${project}/zones/${zone}' does not have enough resources available to fulfill the request.`,
          },
        ],
      };
      return send(200, this.operationView(operation, project));
    }
    const labels = { ...((body.labels as Record<string, string>) ?? {}) };
    this.sequence += 1;
    this.instancesByKey.set(key, {
      project,
      zone,
      name,
      status: 'PROVISIONING',
      labels,
      labelFingerprint: fingerprint(labels),
      resource: body,
      natIP: `203.0.113.${(this.sequence % 250) + 1}`,
      serial: '',
      createdAt: Date.now(),
    });
    send(200, this.operationView(operation, project));
  }

  private list(
    project: string,
    zone: string,
    params: URLSearchParams,
    send: (s: number, j: unknown) => void,
    fail: (s: number, r: string, m: string) => void,
  ): void {
    const filter = params.get('filter');
    let match: (i: FakeInstance) => boolean = () => true;
    if (filter) {
      const equals = /^labels\.([a-z0-9_-]+)\s*=\s*"?([a-z0-9_-]*)"?$/.exec(filter.trim());
      const present = /^labels\.([a-z0-9_-]+):\*$/.exec(filter.trim());
      if (equals) match = (i) => i.labels[equals[1]!] === equals[2];
      else if (present) match = (i) => present[1]! in i.labels;
      else return fail(400, 'invalid', `Invalid list filter expression '${filter}'`);
    }
    const maxResults = Math.min(Number(params.get('maxResults') ?? MAX_PAGE) || MAX_PAGE, MAX_PAGE);
    const offset = Number(params.get('pageToken') ?? 0);
    const all = [...this.instancesByKey.values()]
      .filter((i) => i.project === project && i.zone === zone && match(i))
      .sort((a, b) => a.name.localeCompare(b.name));
    const page = all.slice(offset, offset + maxResults);
    send(200, {
      kind: 'compute#instanceList',
      items: page.map((i) => this.instanceView(i)),
      ...(offset + maxResults < all.length ? { nextPageToken: String(offset + maxResults) } : {}),
    });
  }

  private newOperation(zone: string, operationType: string, target: string): FakeOperation {
    this.sequence += 1;
    const operation = {
      name: `operation-${Date.now()}-${this.sequence}`,
      zone,
      operationType,
      targetLink: target,
      doneAt: Date.now() + (this.options.operationMs ?? 20),
    };
    this.operations.set(operation.name, operation);
    return operation;
  }

  private operationView(operation: FakeOperation, project: string): Record<string, unknown> {
    const done = Date.now() >= operation.doneAt || operation.error !== undefined;
    return {
      kind: 'compute#operation',
      name: operation.name,
      zone: `https://compute.googleapis.com/compute/v1/projects/${project}/zones/${operation.zone}`,
      operationType: operation.operationType,
      targetLink: operation.targetLink,
      status: done ? 'DONE' : 'RUNNING',
      ...(operation.error ? { error: operation.error } : {}),
    };
  }

  private instanceView(instance: FakeInstance): Record<string, unknown> {
    return {
      ...instance.resource,
      kind: 'compute#instance',
      name: instance.name,
      zone: `https://compute.googleapis.com/compute/v1/projects/${instance.project}/zones/${instance.zone}`,
      status: instance.status,
      labels: instance.labels,
      labelFingerprint: instance.labelFingerprint,
      networkInterfaces: [
        { network: 'global/networks/default', networkIP: '10.0.0.2', accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT', natIP: instance.natIP }] },
      ],
    };
  }
}

function checkLabels(labels: unknown): string | undefined {
  if (typeof labels !== 'object' || labels === null) return 'labels must be a map';
  for (const [key, value] of Object.entries(labels)) {
    if (!LABEL_KEY.test(key)) return `Invalid label key '${key}'`;
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) return `Invalid label value '${String(value)}' for '${key}'`;
  }
  return undefined;
}

function fingerprint(labels: Record<string, string>): string {
  return createHash('sha256')
    .update(JSON.stringify(Object.entries(labels).sort()))
    .digest('base64')
    .slice(0, 12);
}

/** What vm-boot.ts needs from the fake: its running instances with their user-data, and where their console goes (serial port 1). */
export function fakeGceBootOptions(fake: FakeGce) {
  return {
    running: async () =>
      fake
        .instances()
        .filter((i) => i.status === 'RUNNING')
        .map((i) => ({
          id: i.name,
          userData: String(
            (i.resource.metadata as { items?: { key: string; value: string }[] } | undefined)?.items?.find((m) => m.key === 'user-data')?.value ?? '',
          ),
        })),
    publishConsole: async (id: string, text: string) => fake.appendSerial(fake.instances().find((i) => i.name === id)!.zone, id, text),
  };
}
