import { createHash, randomUUID } from 'node:crypto';
import type compute from '@google-cloud/compute';
import pLimit from 'p-limit';
import { ProviderError } from '../../errors.js';
import { withBackoff, type PollPacing } from '../cloud/backoff.js';
import { PlacementUnavailable, type CloudApi, type CloudInstance, type InstanceState, type LaunchRequest } from '../cloud/cloud-api.js';
import { gceLabelKey, graftTagPairs, readGraftTags } from '../cloud/graft-tags.js';
import type { GceClients } from './gce-clients.js';
import type { GceSettings } from './gce-settings.js';

type Instance = compute.protos.google.cloud.compute.v1.IInstance;
type Operation = compute.protos.google.cloud.compute.v1.IOperation;

/** Operation error codes that mean "this zone cannot take the VM now": graft tries the next zone. */
const capacityCodes = new Set(['ZONE_RESOURCE_POOL_EXHAUSTED', 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', 'RESOURCE_POOL_EXHAUSTED']);
/** gRPC codes gax reports for "slow down" (RESOURCE_EXHAUSTED, i.e. HTTP 429) and "try again" (UNAVAILABLE). */
const retryableCodes = new Set([8, 14]);
const NOT_FOUND = 5;
/** ALREADY_EXISTS, and ABORTED, which is what gax makes of Compute Engine's HTTP 409 "alreadyExists". */
const CONFLICT_CODES = new Set([6, 10]);
const PAGE_SIZE = 500;

export interface GceApiOptions {
  settings: GceSettings;
  /** Backoff on throttling, and the pace of operation polling. */
  pacing?: PollPacing;
}

/** Compute Engine behind graft's CloudApi: clients given through the constructor. */
export class GceApi implements CloudApi {
  readonly provider = 'gce' as const;
  private readonly pacing: PollPacing;
  private readonly limit = pLimit(10);

  constructor(
    private readonly clients: GceClients,
    private readonly options: GceApiOptions,
  ) {
    this.pacing = options.pacing ?? { initialMs: 1000, maxMs: 10_000 };
  }

  private get project(): string {
    return this.options.settings.project;
  }

  async placements(): Promise<string[]> {
    return this.options.settings.zones;
  }

  /** Nothing session-wide: SSH is admitted by the network's firewall rules (docs/cloud.md). */
  async prepareSession(): Promise<void> {}

  async launch(request: LaunchRequest): Promise<CloudInstance> {
    const zone = request.placement;
    const { settings } = this.options;
    const name = `graft-${request.tags.session}-${request.host}`;
    const labels = graftTagPairs(request.tags, gceLabelKey);
    const instanceResource: Instance = {
      name,
      machineType: `zones/${zone}/machineTypes/${settings.machineType}`,
      labels,
      metadata: {
        items: [
          { key: 'user-data', value: request.userData },
          // Only the session admin key opens the VM: no project-wide keys, no OS Login.
          { key: 'block-project-ssh-keys', value: 'TRUE' },
          { key: 'enable-oslogin', value: 'FALSE' },
        ],
      },
      disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: settings.image, labels } }],
      networkInterfaces: [{ network: settings.network, accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }] }],
      // Compute Engine's own end for the VM, besides the guest's shutdown at the same moment:
      // deleted, not stopped, so that nothing of it is left to pay for.
      scheduling: { instanceTerminationAction: 'DELETE', terminationTime: request.tags.expires.toISOString() },
    };
    try {
      const [operation] = await this.call(() =>
        this.clients.instances.insert({ project: this.project, zone, instanceResource, requestId: requestIdFor(`${request.idempotencyKey}@${zone}`) }),
      );
      const done = await this.waitFor(zone, operationName(operation));
      const failure = done.error?.errors?.[0];
      if (failure?.code && capacityCodes.has(failure.code)) throw new PlacementUnavailable(zone, failure.code, failure.message ?? failure.code);
      if (failure) throw new ProviderError(`gce: creating ${name} in ${zone}: ${failure.code}: ${failure.message}`, { code: `GCE_${failure.code}` });
    } catch (error) {
      if (error instanceof PlacementUnavailable || error instanceof ProviderError) throw error;
      // A repeated launch (after a lost answer) finds its VM already made: that is the VM.
      if (!CONFLICT_CODES.has((error as { code?: number }).code ?? -1)) throw wrap(error, `creating ${name} in ${zone}`);
    }
    const [instance] = await this.call(() => this.clients.instances.get({ project: this.project, zone, instance: name }));
    return toCloudInstance(instance, zone);
  }

  /** Polls the zone operation (the server-side wait returns when it is done or after a while) until DONE. */
  private async waitFor(zone: string, operation: string): Promise<Operation> {
    for (;;) {
      const [current] = await this.call(() => this.clients.zoneOperations.wait({ project: this.project, zone, operation }));
      if (String(current.status) === 'DONE') return current;
    }
  }

  listSession(session: string): Promise<CloudInstance[]> {
    return this.list(`labels.${gceLabelKey('session')} = "${session}"`);
  }

  listTagged(): Promise<CloudInstance[]> {
    return this.list(`labels.${gceLabelKey('session')}:*`);
  }

  private async list(filter: string): Promise<CloudInstance[]> {
    const found: CloudInstance[] = [];
    for (const zone of this.options.settings.zones) {
      let pageToken: string | undefined;
      do {
        const [items, , response] = await this.call(() =>
          this.clients.instances.list({ project: this.project, zone, filter, maxResults: PAGE_SIZE, pageToken }, { autoPaginate: false }),
        );
        for (const instance of items) found.push(toCloudInstance(instance, zone));
        pageToken = response?.nextPageToken || undefined;
      } while (pageToken);
    }
    return found;
  }

  async terminate(instances: CloudInstance[]): Promise<void> {
    await Promise.all(
      instances.map((instance) =>
        this.limit(async () => {
          try {
            await this.call(() =>
              this.clients.instances.delete({ project: this.project, zone: instance.placement, instance: instance.id, requestId: randomUUID() }),
            );
          } catch (error) {
            if ((error as { code?: number }).code !== NOT_FOUND) throw wrap(error, `deleting ${instance.id}`);
          }
        }),
      ),
    );
  }

  async consoleOutput(instance: CloudInstance): Promise<string> {
    const [output] = await this.call(() =>
      this.clients.instances.getSerialPortOutput({ project: this.project, zone: instance.placement, instance: instance.id, port: 1 }),
    );
    return output.contents ?? '';
  }

  /** Boot disks are deleted with their VMs (autoDelete); nothing else is made per session. */
  async sessionLeftovers(): Promise<string[]> {
    return [];
  }

  async cleanupSession(): Promise<void> {}

  async setExpiry(instances: CloudInstance[], expires: Date): Promise<void> {
    const key = gceLabelKey('expires');
    await Promise.all(
      instances.map((instance) =>
        this.limit(async () => {
          const [current] = await this.call(() => this.clients.instances.get({ project: this.project, zone: instance.placement, instance: instance.id }));
          const labels = { ...(current.labels ?? {}), [key]: String(Math.floor(expires.getTime() / 1000)) };
          const [operation] = await this.call(() =>
            this.clients.instances.setLabels({
              project: this.project,
              zone: instance.placement,
              instance: instance.id,
              instancesSetLabelsRequestResource: { labels, labelFingerprint: current.labelFingerprint },
            }),
          );
          await this.waitFor(instance.placement, operationName(operation));
        }),
      ),
    );
  }

  /** One API call, again after a backoff when Compute Engine asks graft to slow down. */
  private call<T>(run: () => Promise<T>): Promise<T> {
    return withBackoff(run, (error) => retryableCodes.has((error as { code?: number }).code ?? -1), this.pacing);
  }
}

/** The zone operation's name: the client wraps insert/delete answers in an extended operation whose own `name` is empty. */
function operationName(operation: { name?: string | null; latestResponse?: unknown }): string {
  const name = (operation.latestResponse as Operation | undefined)?.name ?? operation.name;
  if (!name) throw new ProviderError('gce: the API answered without an operation name', { code: 'GCE_NO_OPERATION' });
  return name;
}

/** A stable request id (UUID-shaped) for a launch: Compute Engine ignores a repeated insert with the same one. */
function requestIdFor(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function toCloudInstance(instance: Instance, zone: string): CloudInstance {
  return {
    id: instance.name ?? '',
    placement: zone,
    state: stateOf(instance.status ?? undefined),
    publicAddress: instance.networkInterfaces?.[0]?.accessConfigs?.[0]?.natIP ?? undefined,
    tags: readGraftTags((instance.labels ?? {}) as Record<string, string>, gceLabelKey),
  };
}

function stateOf(status: string | undefined): InstanceState {
  switch (status) {
    case 'RUNNING':
      return 'running';
    case 'STOPPING':
    case 'SUSPENDING':
      return 'stopping';
    case 'TERMINATED':
    case 'SUSPENDED':
      return 'stopped';
    default:
      return 'pending';
  }
}

function wrap(error: unknown, doing: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const code = (error as { code?: number }).code;
  // UNAUTHENTICATED, PERMISSION_DENIED, or no gRPC code at all (credential discovery failed before any call).
  const credentials = code === 16 || code === 7 || code === undefined;
  return new ProviderError(`gce: ${doing}: ${(error as Error)?.message ?? String(error)}`, {
    code: 'GCE_API_FAILED',
    cause: error,
    actions: credentials
      ? ['graft uses Google application default credentials: run gcloud auth application-default login, or set GOOGLE_APPLICATION_CREDENTIALS.']
      : [],
  });
}
