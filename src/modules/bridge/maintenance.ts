import type { BridgeRuntime } from "./runtime";

/** Forgets processed ids older than the dedupe window and deletes day files past the retention. */
export async function bridgeCleanup(rt: BridgeRuntime): Promise<{ pruned: number; removed: string[] }> {
  const before = rt.since();
  const pruned = await rt.state.prune(before);
  const removed = rt.day.cleanup(rt.cfg().log_retention_days);
  if (removed.length) rt.log.info({ removed }, "bridge day files removed after retention");
  return { pruned, removed };
}
