/**
 * Deletes (or moves) rows in small batches, each its own commit, so request writes never wait
 * long behind maintenance: runs `batch(limit)` until it handles fewer than `limit` rows (at most
 * `rounds` times); returns the total.
 */
export async function inBatches(batch: (limit: number) => Promise<number>, limit = 500, rounds = 1000): Promise<number> {
  let total = 0;
  for (let i = 0; i < rounds; i++) {
    const n = await batch(limit);
    total += n;
    if (n < limit) break;
  }
  return total;
}
