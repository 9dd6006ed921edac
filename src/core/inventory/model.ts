/**
 * The one model both inventory formats (YAML and INI) are read into. It mirrors
 * what `ansible-inventory -i FILE --list` prints, so the two can be compared:
 * groups with their direct hosts and children, and per host the effective
 * (merged) variables and every group it belongs to.
 */
import type { ConfigProblem } from '../errors.js';

/** Which parser read the file. */
export type InventoryFormat = 'yaml' | 'ini';

/**
 * Where a value was written, for messages: a YAML path such as
 * `all.children.web.hosts.web01.graft_slots`, or for INI `line 12: [web] web01: graft_slots`.
 */
export type SourcePath = string;

/** A group as written: its direct hosts and child groups, and its own variables. */
export interface InventoryGroup {
  name: string;
  /** Hosts listed directly in this group, in file order (not those of child groups). */
  hosts: string[];
  /** Direct child groups, in file order. */
  children: string[];
  /** The group's own variables (not inherited ones). */
  vars: Record<string, unknown>;
  /** Where each of `vars` was written. */
  varSources: Record<string, SourcePath>;
}

/** A host with the variables Ansible would give it. */
export interface InventoryHost {
  name: string;
  /**
   * Effective variables: group vars merged by Ansible's precedence (`all` lowest,
   * then by group depth, `ansible_group_priority`, name), host vars on top.
   */
  vars: Record<string, unknown>;
  /** Where the effective value of each of `vars` was written. */
  varSources: Record<string, SourcePath>;
  /** Where the host was first listed. */
  source: SourcePath;
  /** Every group the host belongs to, directly or through children, `all` included; sorted. */
  groups: string[];
}

/** A parsed inventory file. */
export interface Inventory {
  /** The file as given by the user (used in messages and to resolve relative paths). */
  file: string;
  format: InventoryFormat;
  /** Hosts in first-seen order. */
  hosts: Map<string, InventoryHost>;
  /** Every group, including the implicit `all` and `ungrouped`. */
  groups: Record<string, InventoryGroup>;
}

/** What reading a file produced: the model of everything valid in it, and every problem found. */
export interface InventoryReadResult {
  inventory: Inventory;
  problems: ConfigProblem[];
}
