/** How a cloud `up` launches its VMs (placements tried in order) and counts its progress. */
import type pLimit from 'p-limit';
import { ProviderError } from '../../errors.js';
import { PlacementUnavailable, type CloudApi, type CloudInstance } from './cloud-api.js';

/** How many hosts of one `up` have reached each step. */
export class Progress {
  private readonly reached = { 'host.requested': 0, 'host.booted': 0, 'host.up': 0 };

  constructor(private readonly total: number) {}

  /** Counts the step and says where the fleet is, e.g. `[booted 3/20]`; empty for events that are not a step. */
  note(code: string): string {
    if (!(code in this.reached)) return '';
    const step = code as keyof Progress['reached'];
    this.reached[step] += 1;
    const word = { 'host.requested': 'requested', 'host.booted': 'booted', 'host.up': 'reachable' }[step];
    return `[${word} ${this.reached[step]}/${this.total}]`;
  }

  counts(): Record<string, number> {
    return { total: this.total, requested: this.reached['host.requested'], booted: this.reached['host.booted'], reachable: this.reached['host.up'] };
  }
}

/** Launches VMs, trying placements in order; a placement that ran out of capacity is tried last by later hosts too. */
export class Launcher {
  private readonly exhausted = new Set<string>();

  constructor(
    private readonly api: CloudApi,
    private readonly placements: string[],
    private readonly limit: ReturnType<typeof pLimit>,
  ) {}

  launch(request: Omit<Parameters<CloudApi['launch']>[0], 'placement'>, onFailover: (failure: PlacementUnavailable) => void): Promise<CloudInstance> {
    return this.limit(async () => {
      const order = [...this.placements.filter((p) => !this.exhausted.has(p)), ...this.placements.filter((p) => this.exhausted.has(p))];
      const failures: PlacementUnavailable[] = [];
      for (const placement of order) {
        try {
          return await this.api.launch({ ...request, placement });
        } catch (error) {
          if (!(error instanceof PlacementUnavailable)) throw error;
          this.exhausted.add(placement);
          failures.push(error);
          onFailover(error);
        }
      }
      throw new ProviderError(`no capacity for ${request.host} in any placement: ${failures.map((f) => `${f.placement} (${f.providerCode})`).join(', ')}`, {
        code: 'CLOUD_NO_CAPACITY',
        actions: ['Try another instance type, or more subnets / zones (--subnet, --zone).'],
      });
    });
  }
}
