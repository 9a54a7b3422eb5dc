// Which shard a namespace belongs to: FNV-1a (32-bit) of its UTF-8 bytes, modulo the shard count.
// Written out here, not taken from a library or a runtime hash, so every replica of every version
// maps a namespace to the same shard: a change here moves namespaces between shards (a release note).

const offsetBasis = 0x811c9dc5;
const prime = 0x01000193;

/** FNV-1a 32-bit of the string's UTF-8 bytes, as an unsigned integer. */
export function fnv1a(text: string): number {
  let hash = offsetBasis;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, prime);
  }
  return hash >>> 0;
}

/** The shard (0 … shards-1) that works `namespace`. */
export function shardOf(namespace: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1)
    throw new RangeError(`shards must be a positive integer, got ${shards}`);
  return fnv1a(namespace) % shards;
}
