/**
 * Facts about a git pack stream: its header is `PACK`, a version and the object count
 * (big-endian), so the count of what travels is read off the pack itself, not a second walk.
 */
export function packObjectCount(pack: Buffer): number {
  if (pack.length < 12 || pack.toString('latin1', 0, 4) !== 'PACK') return 0;
  return pack.readUInt32BE(8);
}

/**
 * How a receiving repository stores a pack: small ones as loose objects (as git's own
 * transfer.unpackLimit does), so many small syncs do not pile up tiny pack files.
 */
export function storePackCommand(objects: number): string {
  return objects < 100 ? 'unpack-objects -q' : 'index-pack --stdin --fix-thin';
}
