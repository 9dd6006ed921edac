import { Args, Flags } from '@oclif/core';
import { GraftCommand } from '../../cli/base-command.js';
import { renderTable } from '../../cli/table.js';
import { loadStaticHostSpecs, type StaticHostSpec } from '../../core/inventory/index.js';
import type { JumpHost } from '../../core/model/host.js';
import { fingerprintSha256 } from '../../core/ssh/index.js';

export interface InventoryCheckResult {
  file: string;
  format: string;
  groups: string[];
  hosts: (Omit<StaticHostSpec, 'hostKeys'> & { hostKeyFingerprints: string[] })[];
}

export default class InventoryCheck extends GraftCommand<typeof InventoryCheck> {
  static override summary = 'Validate an inventory and show what graft understood.';
  static override description = `Reads an Ansible-style inventory (YAML or INI) the way graft up would and prints each host's address, login, key file, slots, labels, isolation mode and pinned host keys. Every problem in the file is reported at once as "file: path: message", with exit code 3.`;
  static override examples = [
    '<%= config.bin %> inventory check inventories/onprem.ini',
    {
      description: 'Machine-readable, e.g. to diff against ansible-inventory --list',
      command: '<%= config.bin %> inventory check inventories/onprem.yaml --json',
    },
    { description: 'Check structure only, before host keys are collected', command: '<%= config.bin %> inventory check fleet.yaml --no-require-pins' },
  ];

  static override args = {
    file: Args.string({ description: 'Inventory file (.yaml, .yml, .ini, or no extension).', required: true }),
  };

  static override flags = {
    'require-pins': Flags.boolean({
      description: 'Treat hosts with no pinned host key and no explicit tofu policy as errors.',
      default: true,
      allowNo: true,
      env: 'GRAFT_REQUIRE_PINS',
    }),
  };

  async run(): Promise<InventoryCheckResult> {
    const { inventory, specs } = loadStaticHostSpecs(this.args.file, { requirePins: this.flags['require-pins'] });
    if (specs.length === 0) this.events.emit({ code: 'warning', level: 'warn', message: `${this.args.file}: no hosts` });
    const hosts = specs.map(({ hostKeys, ...spec }) => ({ ...spec, hostKeyFingerprints: hostKeys.map((k) => fingerprintSha256(k)) }));
    this.log(
      renderTable(
        ['host', 'address', 'user', 'key file', 'via', 'slots', 'labels', 'isolation', 'host key'],
        hosts.map((h) => [
          h.name,
          `${h.address}:${h.port}`,
          h.user,
          h.identityFile ?? '(ssh-agent)',
          jumpChain(h.jump),
          String(h.slots),
          h.labels.join(',') || '-',
          h.isolation,
          h.hostKeyFingerprints[0] ?? (h.hostKeyPolicy === 'tofu' ? 'tofu' : '-'),
        ]),
      ),
    );
    this.log(`\n${inventory.file}: ${hosts.length} host(s) in ${Object.keys(inventory.groups).length} group(s), ${inventory.format.toUpperCase()}: OK`);
    return { file: inventory.file, format: inventory.format, groups: Object.keys(inventory.groups).sort(), hosts };
  }
}

/** The jump hosts, first hop first, as ProxyJump writes them; `-` for none. */
function jumpChain(jump: JumpHost | undefined): string {
  const hops: string[] = [];
  for (let hop = jump; hop; hop = hop.jump) hops.unshift(`${hop.user}@${hop.address}:${hop.port}`);
  return hops.join(',') || '-';
}
