/**
 * What graft writes on every cloud resource it creates, so that a session's machines are
 * found by asking the provider, never from graft's memory alone. EC2 tags and Compute Engine
 * labels carry the same four facts; labels allow only [a-z0-9_-], so their keys use `-`
 * where tags use `:`, and the expiry is written as Unix seconds in both.
 */
export interface GraftTagValues {
  /** The session id. */
  session: string;
  /** The host's name in the session (`ec2-01`). */
  host: string;
  /** When the session ends and the machine powers itself off. */
  expires: Date;
  /** The graft home that made it (see owner-id.ts): `gc` only calls another home's machines orphans once they expire. */
  owner: string;
}

type Field = 'session' | 'host' | 'expires' | 'owner';

/** EC2 tag keys: `graft:session`, `graft:host`, `graft:expires`, `graft:owner`. */
export const ec2TagKey = (field: Field): string => `graft:${field}`;
/** Compute Engine label keys: `graft-session`, `graft-host`, `graft-expires`, `graft-owner`. */
export const gceLabelKey = (field: Field): string => `graft-${field}`;

/** The tags as key/value pairs, keys named by `key`. */
export function graftTagPairs(values: GraftTagValues, key: (field: Field) => string): Record<string, string> {
  return {
    [key('session')]: values.session,
    [key('host')]: values.host,
    [key('expires')]: String(Math.floor(values.expires.getTime() / 1000)),
    [key('owner')]: values.owner,
  };
}

/** Reads graft's tags back from a resource's tags or labels; fields that are absent or unreadable stay undefined. */
export function readGraftTags(pairs: Record<string, string | undefined>, key: (field: Field) => string): Partial<GraftTagValues> {
  const read: Partial<GraftTagValues> = {};
  const session = pairs[key('session')];
  const host = pairs[key('host')];
  const owner = pairs[key('owner')];
  const expires = Number(pairs[key('expires')]);
  if (session) read.session = session;
  if (host) read.host = host;
  if (owner) read.owner = owner;
  if (Number.isInteger(expires) && expires > 0) read.expires = new Date(expires * 1000);
  return read;
}
