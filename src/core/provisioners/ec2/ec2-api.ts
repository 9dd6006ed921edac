import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  GetConsoleOutputCommand,
  paginateDescribeInstances,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
  type Instance,
  type Tag,
} from '@aws-sdk/client-ec2';
import { ProviderError } from '../../errors.js';
import { pollUntil, type PollPacing } from '../cloud/backoff.js';
import { PlacementUnavailable, type CloudApi, type CloudInstance, type InstanceState, type LaunchRequest } from '../cloud/cloud-api.js';
import { ec2TagKey, graftTagPairs, readGraftTags, type GraftTagValues } from '../cloud/graft-tags.js';
import { classifyCapacityErrors, Ec2CapacityError, ec2ErrorCode } from './ec2-errors.js';
import { deleteSecurityGroup, ensureSecurityGroup, sessionSecurityGroups } from './ec2-security-group.js';
import type { Ec2Settings } from './ec2-settings.js';

/** Debian's own account, which publishes the official Debian AMIs. */
const DEBIAN_OWNER = '136693973838';
const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

export interface Ec2ApiOptions {
  settings: Ec2Settings;
  /** The CIDR block SSH is admitted from (controller-address.ts); asked only when a session is prepared. */
  sshFrom: () => Promise<string>;
  /** How long cleanup waits for EC2 to let go of the security group. */
  cleanupTimeoutMs?: number;
  poll?: PollPacing;
}

/** EC2 behind graft's CloudApi: one client, given through the constructor. */
export class Ec2Api implements CloudApi {
  readonly provider = 'ec2' as const;
  private subnets?: Promise<{ id: string; vpcId: string }[]>;
  private image?: Promise<string>;
  private groupId?: string;

  constructor(
    private readonly client: EC2Client,
    private readonly options: Ec2ApiOptions,
  ) {
    classifyCapacityErrors(client);
  }

  /** The subnets given (in order), or the default VPC's default subnets, one per availability zone. */
  async placements(): Promise<string[]> {
    return (await this.subnetsInfo()).map((s) => s.id);
  }

  private subnetsInfo(): Promise<{ id: string; vpcId: string }[]> {
    this.subnets ??= (async () => {
      const given = this.options.settings.subnets;
      const filters: Filter[] = given ? [{ Name: 'subnet-id', Values: given }] : [{ Name: 'default-for-az', Values: ['true'] }];
      const found = (await this.client.send(new DescribeSubnetsCommand({ Filters: filters }))).Subnets ?? [];
      const info = found.map((s) => ({ id: s.SubnetId!, vpcId: s.VpcId!, zone: s.AvailabilityZone ?? '' }));
      if (given) {
        const missing = given.filter((id) => !info.some((s) => s.id === id));
        if (missing.length > 0)
          throw new ProviderError(`ec2: no subnet ${missing.join(', ')} in this region`, { code: 'EC2_NO_SUBNET', actions: ['Check --subnet and --region.'] });
        return given.map((id) => info.find((s) => s.id === id)!);
      }
      if (info.length === 0)
        throw new ProviderError('ec2: this region has no default VPC subnets', { code: 'EC2_NO_SUBNET', actions: ['Name subnets with --subnet subnet-...'] });
      return info.sort((a, b) => a.zone.localeCompare(b.zone));
    })();
    return this.subnets;
  }

  async prepareSession(session: string, tags: Omit<GraftTagValues, 'host'>): Promise<void> {
    const [first] = await this.subnetsInfo();
    const vpcs = new Set((await this.subnetsInfo()).map((s) => s.vpcId));
    if (vpcs.size > 1)
      throw new ProviderError(`ec2: the subnets are in ${vpcs.size} VPCs; one session's subnets must share a VPC`, { code: 'EC2_SUBNETS_SPLIT' });
    this.groupId = await ensureSecurityGroup(this.client, first!.vpcId, session, await this.options.sshFrom(), toTags(tags));
    await this.defaultImage();
  }

  private defaultImage(): Promise<string> {
    this.image ??= (async () => {
      if (this.options.settings.image) return this.options.settings.image;
      const found = await this.client.send(
        new DescribeImagesCommand({
          Owners: [DEBIAN_OWNER],
          Filters: [
            { Name: 'name', Values: ['debian-12-amd64-*'] },
            { Name: 'state', Values: ['available'] },
          ],
        }),
      );
      const newest = (found.Images ?? []).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
      if (!newest?.ImageId)
        throw new ProviderError('ec2: found no Debian 12 image in this region', {
          code: 'EC2_NO_IMAGE',
          actions: ['Name an image with cloud-init: --image ami-...'],
        });
      return newest.ImageId;
    })();
    return this.image;
  }

  async launch(request: LaunchRequest): Promise<CloudInstance> {
    const tags = toTags({ ...request.tags });
    try {
      const result = await this.client.send(
        new RunInstancesCommand({
          ImageId: await this.defaultImage(),
          InstanceType: this.options.settings.instanceType as never,
          MinCount: 1,
          MaxCount: 1,
          // The same token returns the same instance when a call is repeated after a lost answer.
          ClientToken: request.idempotencyKey,
          UserData: Buffer.from(request.userData).toString('base64'),
          // The dead-man's switch powers off from inside; this makes that a termination, not a stop.
          InstanceInitiatedShutdownBehavior: 'terminate',
          MetadataOptions: { HttpTokens: 'required' },
          NetworkInterfaces: [
            {
              DeviceIndex: 0,
              SubnetId: request.placement,
              Groups: this.groupId ? [this.groupId] : undefined,
              AssociatePublicIpAddress: true,
              DeleteOnTermination: true,
            },
          ],
          TagSpecifications: [
            { ResourceType: 'instance', Tags: [...tags, { Key: 'Name', Value: `graft-${request.tags.session}-${request.host}` }] },
            { ResourceType: 'volume', Tags: tags },
          ],
        }),
      );
      const instance = result.Instances?.[0];
      if (!instance?.InstanceId) throw new ProviderError('ec2: RunInstances answered without an instance', { code: 'EC2_RUN_EMPTY' });
      return toCloudInstance(instance);
    } catch (error) {
      if (error instanceof Ec2CapacityError) throw new PlacementUnavailable(request.placement, error.code, error.message);
      throw wrap(error, `launching ${request.host}`);
    }
  }

  listSession(session: string): Promise<CloudInstance[]> {
    return this.describe([{ Name: `tag:${ec2TagKey('session')}`, Values: [session] }]);
  }

  listTagged(): Promise<CloudInstance[]> {
    return this.describe([{ Name: 'tag-key', Values: [ec2TagKey('session')] }]);
  }

  private async describe(filters: Filter[]): Promise<CloudInstance[]> {
    const instances: CloudInstance[] = [];
    try {
      for await (const page of paginateDescribeInstances(
        { client: this.client },
        { Filters: [...filters, { Name: 'instance-state-name', Values: LIVE_STATES }] },
      )) {
        for (const reservation of page.Reservations ?? []) for (const instance of reservation.Instances ?? []) instances.push(toCloudInstance(instance));
      }
    } catch (error) {
      throw wrap(error, 'listing instances');
    }
    return instances;
  }

  async terminate(instances: CloudInstance[]): Promise<void> {
    for (let i = 0; i < instances.length; i += 500) {
      const ids = instances.slice(i, i + 500).map((instance) => instance.id);
      try {
        await this.client.send(new TerminateInstancesCommand({ InstanceIds: ids }));
      } catch (error) {
        if (ec2ErrorCode(error) !== 'InvalidInstanceID.NotFound') throw wrap(error, 'terminating instances');
      }
    }
  }

  async consoleOutput(instance: CloudInstance): Promise<string> {
    const output = await this.client.send(new GetConsoleOutputCommand({ InstanceId: instance.id })).catch((error: unknown) => {
      throw wrap(error, `reading the console of ${instance.id}`);
    });
    return output.Output ? Buffer.from(output.Output, 'base64').toString('utf8') : '';
  }

  async sessionLeftovers(session: string): Promise<string[]> {
    const groups = await sessionSecurityGroups(this.client, ec2TagKey('session'), session);
    const volumes = await this.client.send(new DescribeVolumesCommand({ Filters: [{ Name: `tag:${ec2TagKey('session')}`, Values: [session] }] }));
    return [
      ...groups.map((id) => `security group ${id}`),
      ...(volumes.Volumes ?? []).filter((v) => v.State !== 'deleted').map((v) => `volume ${v.VolumeId} (${v.State})`),
    ];
  }

  /** Deletes the session's security groups, waiting while EC2 still counts a terminating instance as using them. */
  async cleanupSession(session: string): Promise<void> {
    for (const groupId of await sessionSecurityGroups(this.client, ec2TagKey('session'), session)) {
      let last: unknown;
      const done = await pollUntil(
        async () => {
          try {
            await deleteSecurityGroup(this.client, groupId);
            return true;
          } catch (error) {
            if (ec2ErrorCode(error) !== 'DependencyViolation') throw wrap(error, `deleting security group ${groupId}`);
            last = error;
            return undefined;
          }
        },
        this.options.poll ?? { initialMs: 2000, maxMs: 10_000 },
        Date.now() + (this.options.cleanupTimeoutMs ?? 300_000),
      );
      if (!done) throw wrap(last, `deleting security group ${groupId}`);
    }
  }

  async setExpiry(instances: CloudInstance[], expires: Date): Promise<void> {
    if (instances.length === 0) return;
    const value = String(Math.floor(expires.getTime() / 1000));
    await this.client.send(new CreateTagsCommand({ Resources: instances.map((i) => i.id), Tags: [{ Key: ec2TagKey('expires'), Value: value }] }));
  }
}

function toTags(values: Partial<GraftTagValues> & Omit<GraftTagValues, 'host'>): Tag[] {
  const pairs = graftTagPairs({ host: '', ...values }, ec2TagKey);
  return Object.entries(pairs)
    .filter(([, value]) => value !== '')
    .map(([Key, Value]) => ({ Key, Value }));
}

function toCloudInstance(instance: Instance): CloudInstance {
  const pairs = Object.fromEntries((instance.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value]));
  return {
    id: instance.InstanceId!,
    placement: instance.SubnetId ?? instance.Placement?.AvailabilityZone ?? '',
    state: stateOf(instance.State?.Name),
    publicAddress: instance.PublicIpAddress,
    tags: readGraftTags(pairs, ec2TagKey),
  };
}

function stateOf(name: string | undefined): InstanceState {
  switch (name) {
    case 'running':
      return 'running';
    case 'shutting-down':
      return 'terminating';
    case 'terminated':
      return 'terminated';
    case 'stopping':
      return 'stopping';
    case 'stopped':
      return 'stopped';
    default:
      return 'pending';
  }
}

/** An SDK error as a ProviderError naming what graft was doing and EC2's code; credential problems get a hint. */
function wrap(error: unknown, doing: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const code = ec2ErrorCode(error) ?? 'Error';
  const credentials = ['CredentialsProviderError', 'AuthFailure', 'UnauthorizedOperation', 'ExpiredToken', 'InvalidClientTokenId'].includes(code);
  return new ProviderError(`ec2: ${doing}: ${code}: ${(error as Error)?.message ?? String(error)}`, {
    code: `EC2_${code.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`,
    cause: error,
    actions: credentials
      ? ['graft uses the AWS SDK credential chain: set AWS_PROFILE, run aws sso login, or export AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.']
      : [],
  });
}
