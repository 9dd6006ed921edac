import type { CloudApi, CloudInstance } from './cloud-api.js';

/**
 * The session's VMs as the provider lists them, shared by every host waiting on its VM: one
 * list call answers all of them, and a second is made only once the first is `freshMs` old.
 * So polling N booting VMs costs one call per round, not N.
 */
export class SessionInstances {
  private latest?: { at: number; instances: Map<string, CloudInstance> };
  private inflight?: Promise<Map<string, CloudInstance>>;

  constructor(
    private readonly api: CloudApi,
    private readonly session: string,
    private readonly freshMs: number,
  ) {}

  async current(): Promise<Map<string, CloudInstance>> {
    if (this.latest && Date.now() - this.latest.at < this.freshMs) return this.latest.instances;
    this.inflight ??= this.api
      .listSession(this.session)
      .then((list) => {
        const instances = new Map(list.map((instance) => [instance.id, instance]));
        this.latest = { at: Date.now(), instances };
        return instances;
      })
      .finally(() => (this.inflight = undefined));
    return this.inflight;
  }
}
