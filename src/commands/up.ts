import { Flags } from '@oclif/core';
import { GraftCommand } from '../cli/base-command.js';
import { cloudFlags, cloudSettings } from '../cli/cloud-flags.js';
import { parseDuration } from '../core/duration.js';
import { hostView, renderHosts, type HostView } from '../cli/host-rows.js';
import { UsageError } from '../core/errors.js';
import { checkLabels } from '../core/inventory/selector.js';
import { defaultProvisioners } from '../core/provisioners/factory.js';
import { bringUp, type UpRequest } from '../core/session/bring-up.js';

export interface UpCommandResult {
  session: string;
  expiresAt: string;
  provisioner: string;
  hosts: HostView[];
}

export default class Up extends GraftCommand<typeof Up> {
  static override summary = 'Start a session: bring hosts up and pin their host keys.';
  static override description = `Creates a new session. With the local provisioner (the default) each host is a real OpenSSH server graft starts on its own loopback address; with --inventory the hosts are your machines from an Ansible-style inventory, checked for reachability and never destroyed; with --provisioner ec2 or gce they are cloud VMs that power themselves off at the end of --ttl (credentials from the AWS SDK's and Google's standard chains). See docs/cloud.md.`;
  static override examples = [
    { description: 'Three local SSH hosts, no cloud account needed', command: '<%= config.bin %> up --provisioner local --hosts 3' },
    { description: 'Local hosts with 4 slots each, labelled gpu', command: '<%= config.bin %> up --hosts 2 --slots 4 --label gpu' },
    { description: 'Your own machines from an inventory', command: '<%= config.bin %> up --inventory inventories/onprem.yaml' },
    {
      description: 'Four EC2 VMs for four hours',
      command: '<%= config.bin %> up --provisioner ec2 --hosts 4 --region eu-west-1 --instance-type t3.large --ttl 4h',
    },
    {
      description: 'Four Compute Engine VMs, failing over to a second zone',
      command: '<%= config.bin %> up --provisioner gce --hosts 4 --project my-proj --zone europe-west4-a,europe-west4-b --machine-type e2-standard-4',
    },
  ];

  static override flags = {
    provisioner: Flags.string({ char: 'p', description: 'Where hosts come from.', options: ['local', 'static', 'ec2', 'gce'], env: 'GRAFT_PROVISIONER' }),
    hosts: Flags.integer({ char: 'n', description: 'Number of hosts (local, ec2, gce).', default: 2, min: 1, max: 250, env: 'GRAFT_HOSTS' }),
    slots: Flags.integer({ description: 'Agents each host runs at once (local provisioner).', default: 4, min: 1, env: 'GRAFT_SLOTS' }),
    label: Flags.string({
      char: 'l',
      description: 'Label for every host (repeatable or comma-separated; local provisioner).',
      multiple: true,
      delimiter: ',',
      env: 'GRAFT_LABELS',
    }),
    ttl: Flags.string({
      description: 'How long the session lives: agent keys and certificates expire then, and cloud VMs power off.',
      default: '12h',
      env: 'GRAFT_TTL',
    }),
    inventory: Flags.string({ char: 'i', description: 'Ansible-style inventory (YAML or INI); implies --provisioner static.', env: 'GRAFT_INVENTORY' }),
    tofu: Flags.boolean({
      description:
        'Inventory hosts whose key is in neither the inventory nor a known_hosts file: trust the key they present now (with a warning) and pin it in GRAFT_HOME/known_hosts.',
      default: false,
      env: 'GRAFT_TOFU',
    }),
    ...cloudFlags,
  };

  async run(): Promise<UpCommandResult> {
    const { flags } = this;
    const provisioner = flags.provisioner ?? (flags.inventory ? 'static' : 'local');
    if (provisioner === 'static' && !flags.inventory) throw new UsageError('--provisioner static needs --inventory FILE');
    if (flags.tofu && provisioner !== 'static')
      throw new UsageError('--tofu is for inventory hosts: graft pins the keys of hosts it creates itself', ['Use it with --inventory FILE.']);
    const ttlMs = parseDuration('ttl', flags.ttl);
    const settings = cloudSettings(provisioner, flags);
    const common = { hosts: flags.hosts, slots: flags.slots, labels: checkLabels(flags.label ?? []), ttlMs };
    const request: UpRequest =
      provisioner === 'static'
        ? { provisioner, inventory: flags.inventory!, ttlMs, ...(flags.tofu ? { tofu: true } : {}) }
        : provisioner === 'ec2' || provisioner === 'gce'
          ? { provisioner, settings, ...common }
          : { provisioner: 'local', ...common };
    const runtime = this.runtime();
    const result = await bringUp(runtime, request, defaultProvisioners(runtime.pool, runtime.layout.knownHosts), (id) => this.logToSession(id));
    const hosts = result.hosts.map(hostView);
    this.log(renderHosts(hosts));
    this.log(`\nsession ${result.session.id} is up with ${hosts.length} host(s). Next: graft exec -- uname -a`);
    return { session: result.session.id, expiresAt: result.session.expiresAt, provisioner, hosts };
  }
}
