/** What a run's controller is given, and what each of its task attempts uses of the run. */
import type { AccountPool } from '../agents/account-pool.js';
import type { RetryPolicy } from '../graph/scheduler.js';
import type { HarnessSettings } from '../harnesses/index.js';
import type { AgentSpec } from '../model/graph.js';
import type { HostRecord } from '../model/host.js';
import type { TaskRecord } from '../model/task.js';
import type { GraftRuntime } from '../runtime.js';
import type { RunGraph, RunStore } from '../state/run-store.js';
import type { SessionRow } from '../state/store.js';
import type { GatewayLink } from './gateway-link.js';

export interface ControllerOptions {
  /** The run's store as this controller writes it (fenced on its lease); default: unfenced. */
  runs?: RunStore;
  retryPolicy?: RetryPolicy;
  /** How long a host that stopped answering is given to come back before its tasks move elsewhere. */
  hostGraceMs?: number;
  /** Stopping detaches: tasks keep running on their hosts, `graft resume` picks them up. */
  signal?: AbortSignal;
  /** Extra PATH entries for a task on a host (where the agent channel's helper is). */
  taskPath?: (host: string) => string[];
  /** The agent channel's URL on a host, written into the agent's URL file as its task starts. */
  channelUrl?: (host: HostRecord) => Promise<string>;
  /** The loopback ports of graft's services (channel, gateway) on a host that an agent made from the template uses: its network rules let it reach them. */
  servicePorts?: (host: HostRecord, agent: AgentSpec) => Promise<number[]>;
  /** GRAFT_AGENT_PATH and the vendor API base URLs, read from the controller's environment. */
  harnessSettings?: HarnessSettings;
  /** The session's model gateway, when some agent uses it (controller/gateway-link.ts). */
  gateway?: Pick<GatewayLink, 'access' | 'revoke' | 'spent'>;
}

/** What an attempt uses of its run: the controller gives it this. */
export interface AttemptContext {
  runtime: GraftRuntime;
  session: SessionRow;
  graph: RunGraph;
  runs: RunStore;
  options: ControllerOptions;
  accounts: AccountPool;
  /** Hosts that stopped answering past their grace period: the attempt adds its host when that happens. */
  unhealthy: Set<string>;
  /** Aborted when the controller stops: a watch in progress ends, its process keeps running. */
  watchSignal: AbortSignal;
  host(name: string): HostRecord;
  /** Writes transitions (compare-and-set) and announces those that landed. */
  write(changes: { from: TaskRecord['state']; record: TaskRecord }[]): TaskRecord[];
  /** Wakes the run loop: a result lets what needed it start. */
  wake(): void;
}
