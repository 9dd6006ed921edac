/**
 * Ansible-compatible inventories (YAML and INI): the model, the loaders, host specs
 * for the static provisioner and host-pattern selection. Import from here.
 */
export type { Inventory, InventoryFormat, InventoryGroup, InventoryHost, InventoryReadResult, SourcePath } from './model.js';
export { detectInventoryFormat, loadInventory, loadStaticHostSpecs, readInventoryFile, readInventoryText } from './load.js';
export { readYamlInventory } from './yaml-inventory.js';
export { MAX_INVENTORY_FILE_BYTES, readInventorySource } from './inventory-source.js';
export { readIniInventory } from './ini-inventory.js';
export { expandHostPattern, expandHostRange, splitHostPort, MAX_HOSTS_PER_PATTERN, type ExpandedHostPattern } from './host-patterns.js';
export {
  checkHostKeyPins,
  localHostSpecEnvironment,
  resolveInventoryPath,
  toStaticHostSpecs,
  type HostKeyPolicy,
  type HostSpecEnvironment,
  type StaticHostSpec,
} from './graft-host.js';
export { graftHostVarsSchema, parseHostKeyLine, type GraftHostVars } from './graft-vars.js';
export { addKnownHostHint, hostFieldMatches, knownHostEntries, knownHostKeys, knownHostsName, type KnownHostMatch } from './known-hosts.js';
export { OpenSshFiles, expandSshPath, type OpenSshFileSource, type SshConfigHost, type KnownHostLookup } from './openssh-files.js';
export { parseProxyJump, proxyJumpFromSshArgs, type JumpHop } from './jump-spec.js';
export { checkLabels, parseHostPattern, selectHosts, type PatternTerm, type SelectableHost } from './selector.js';
