// Rendezvous (highest-random-weight) hashing: every node scores every shard and the highest score
// owns it. All nodes that see the same set of live nodes agree without talking, and when a node
// leaves only its own shards move (to the next-highest score); when one joins, it takes about 1/N.

/** 32-bit FNV-1a: fast, stable across processes and versions (never Math.random or the runtime's hash). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche so that similar inputs ("node-1:7", "node-1:8") spread over the range.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The node that owns `shard` among `nodes` (null when there are none). Ties go to the smaller node id. */
export function ownerOf(shard: number, nodes: readonly string[]): string | null {
  let best: string | null = null;
  let bestScore = -1;
  for (const n of nodes) {
    const score = fnv1a(`${n}:${shard}`);
    if (score > bestScore || (score === bestScore && best !== null && n < best)) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}

/** The shard a course belongs to (courses are the unit of in-memory state: one Q-table each). */
export function shardOfCourse(courseId: number, shards: number): number {
  return fnv1a(`course:${courseId}`) % shards;
}
