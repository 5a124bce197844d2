// Work for a course shard, announced across nodes: a write that stores events of a course names
// this kind in its NOTIFY (driver.write's w.notify), every node hears it, and only the shard's
// owner acts on it (the recommender's pipeline). Not a queue kind: no job row, nothing to claim.

export const SHARD_KIND_PREFIX = "shard.work.";

export function shardWorkKind(shard: number): string {
  return `${SHARD_KIND_PREFIX}${shard}`;
}

/** The shard a notified kind names, or null when it is not a shard-work kind. */
export function shardOfWorkKind(kind: string): number | null {
  if (!kind.startsWith(SHARD_KIND_PREFIX)) return null;
  const n = Number(kind.slice(SHARD_KIND_PREFIX.length));
  return Number.isInteger(n) && n >= 0 ? n : null;
}
