// Storage drivers in the same run: PostgreSQL (a throwaway local cluster, fsync and
// synchronous_commit on) against SQLite (durability full), at the driver level, because
// `ferry serve` does not run on PostgreSQL yet (README "Scale out"). Two loads:
// - enqueue: 64 concurrent "requests", each one acknowledged (durable) job at a time;
// - claim + complete: 4 workers, batches of 100, over a pre-filled queue.
import { join } from "node:path";
import { openDriver } from "../../src/store/driver/open";
import type { StoreDriver } from "../../src/store/driver/types";
import { pgUnavailable, startPgCluster } from "../helpers/postgres";
import type { BenchHarness, BenchRow } from "./harness";

const SECONDS = Number(process.env.FERRY_BENCH_STORAGE_SECONDS ?? 3);

async function enqueueRate(d: StoreDriver): Promise<number> {
  let acked = 0;
  const until = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async (_, c) => {
      while (performance.now() < until) {
        await d.enqueue([{ kind: "bench.enqueue", payload: { c, pad: "x".repeat(200) } }], 5, Date.now());
        acked++;
      }
    }),
  );
  return acked / ((performance.now() - started) / 1000);
}

/** 4 workers in all, spread over the given drivers (one driver per "node"). */
async function claimCompleteRate(d: StoreDriver, nodes: StoreDriver[] = [d]): Promise<number> {
  const N = 40_000;
  for (let i = 0; i < N; i += 1000) await d.enqueue(Array.from({ length: 1000 }, (_, j) => ({ kind: "bench.work", payload: { i: i + j } })), 5, 0);
  let done = 0;
  const started = performance.now();
  const until = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      const d = nodes[w % nodes.length]!;
      while (performance.now() < until) {
        const { jobs } = await d.claim("bench.work", 100, 30_000, Date.now());
        if (!jobs.length) return;
        await d.complete(jobs.map((j) => ({ id: j.id, token: j.lease_token! })), Date.now());
        done += jobs.length;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

export async function run(h: BenchHarness): Promise<BenchRow[]> {
  const sqlite = await openDriver({ driver: "sqlite", path: join(h.tmp(), "bench.db"), durability: "full" });
  const sEnq = await enqueueRate(sqlite);
  const sWork = await claimCompleteRate(sqlite);
  await sqlite.close();
  const rows: BenchRow[] = [
    { scenario: "storage sqlite", target: "enqueue, 64 concurrent, each acked after fdatasync", rate: sEnq, unit: "jobs/s", ratio: 1 },
    { scenario: "storage sqlite", target: "claim+complete, 4 workers, batch 100", rate: sWork, unit: "jobs/s", ratio: 1 },
  ];
  const why = pgUnavailable();
  if (why) return [...rows, { scenario: "storage postgres", target: "skipped", rate: NaN, note: why }];
  const cluster = await startPgCluster();
  try {
    const pg = await openDriver({ driver: "postgres", url: cluster.url, schema: "bench", pool: 10, nodeId: "bench" });
    const pEnq = await enqueueRate(pg);
    const pWork = await claimCompleteRate(pg);
    await pg.close();
    // Two nodes: two drivers (pools, group commits, LISTEN connections), two workers each. In one
    // process on 2 shared cores with the server, so this shows the coordination overhead, not scale.
    const n1 = await openDriver({ driver: "postgres", url: cluster.url, schema: "bench2", pool: 5, nodeId: "n1" });
    const n2 = await openDriver({ driver: "postgres", url: cluster.url, schema: "bench2", pool: 5, nodeId: "n2" });
    const p2Work = await claimCompleteRate(n1, [n1, n2]);
    await Promise.all([n1.close(), n2.close()]);
    rows.push(
      { scenario: "storage postgres", target: "enqueue, 64 concurrent, each acked after COMMIT (synchronous_commit on)", rate: pEnq, unit: "jobs/s", ratio: pEnq / sEnq, goal: "≥ 0.5× SQLite" },
      { scenario: "storage postgres", target: "claim+complete, 4 workers, batch 100 (SKIP LOCKED, unnest)", rate: pWork, unit: "jobs/s", ratio: pWork / sWork, goal: "≥ 0.5× SQLite" },
      { scenario: "storage postgres ×2", target: "claim+complete, 2 nodes × 2 workers (one process), batch 100", rate: p2Work, unit: "jobs/s", ratio: p2Work / sWork, note: `${(p2Work / pWork).toFixed(2)}× one node` },
    );
  } finally {
    await cluster.stop();
  }
  return rows;
}
