import type { EC2Client } from '@aws-sdk/client-ec2';

/**
 * EC2's codes for "no capacity for this request here now": server errors (HTTP 500) that the
 * SDK would retry in place. graft fails over to the next subnet instead, so these are taken
 * out of the SDK's retry loop (see classifyCapacityErrors).
 */
export const capacityErrorCodes = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'Unsupported',
]);

/** A RunInstances refused for lack of capacity, with EC2's code. Not retried by the SDK. */
export class Ec2CapacityError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'Ec2CapacityError';
  }
}

/**
 * Adds (once per client) a middleware inside the SDK's retry loop that turns capacity errors
 * into Ec2CapacityError: an error without HTTP metadata is one the retry strategy gives up on
 * at once, so failover to the next subnet starts without the SDK's backoff in between.
 */
export function classifyCapacityErrors(client: EC2Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const name = (error as Error).name;
        if (context.commandName === 'RunInstancesCommand' && capacityErrorCodes.has(name)) throw new Ec2CapacityError(name, (error as Error).message);
        throw error;
      }
    },
    { step: 'deserialize', name: 'graftCapacityErrors', priority: 'high', override: true },
  );
}

/** The error's EC2 code (its name, as the SDK sets it), for the codes graft acts on. */
export function ec2ErrorCode(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
