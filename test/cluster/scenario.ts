// The failover scenario of test/cluster/failover.test.ts: a single SQLite node fed the course-2
// batches (the reference), then three compiled binaries on one throwaway PostgreSQL under Moodle
// batches and publishes, the leader (also the owner of the course's shard) SIGKILLed mid-load.
// It records what it saw; the tests judge it.
import { expect } from "bun:test";
import postgres from "postgres";
import { ownerOf, shardOfCourse } from "../../src/cluster/rendezvous";
import { Database } from "../../src/store/sqlite";
import { FakeSubscriber } from "../fakes/subscriber";
import { healthOf, startNode, type ClusterNode } from "../helpers/cluster";
import { ensureBinary, freePort, jsonRequest, spawnFerry, tempDir, waitFor, writeConfig, type ChildFerry } from "../helpers/ferry";
import { startPgCluster, type PgCluster } from "../helpers/postgres";
import { API_TOKEN, chunks, course2Logs, MOODLE_TOKEN, structure2 } from "../moodle/fixtures";

export const COURSE = 2;
export const SHARDS = 64;
export const HEARTBEAT_MS = 250;
export const TTL_MS = 2000;
export const QUEUE_LEASE_MS = 2000;
/** Room for a loaded 2-core machine (every engineer's tests at once) on top of the configured times. */
export const SLACK_MS = 4000;
const SECRET = "whsec_" + Buffer.from("cluster-failover-signing-key-32b").toString("base64");

// The real course-2 logstore in event-time order, 50 logs per batch with stable event ids (the
// plugin's retry of an unacknowledged batch sends the same event_id: a duplicate, never applied twice).
const logs = course2Logs().sort((a, b) => Number(a.timecreated) - Number(b.timecreated) || Number(a.id) - Number(b.id));
export const batches = chunks(logs, 50).map((l, i) => ({ event_id: `clu-${i}`, logs: l }));

const children: ChildFerry[] = [];
let pg: PgCluster | null = null;
let rx: FakeSubscriber | null = null;

function config(subscriberUrl: string | null): Record<string, any> {
  return {
    auth: { api_tokens: [API_TOKEN] },
    moodle: { tokens: [MOODLE_TOKEN] },
    queue: { lease: `${QUEUE_LEASE_MS}ms`, maintenance_cron: "* * * * * *" },
    recommender: { snapshot_every: "2s" },
    webhooks: {
      allow_private_targets: true,
      subscribers: subscriberUrl
        ? [{ id: "rx", url: subscriberUrl, secret: SECRET, events: ["cluster.*"], concurrency: 8, timeout_ms: 2000, retry: { max_attempts: 30, base_ms: 200, max_ms: 1000 } }]
        : [],
    },
  };
}

/** Pipeline drained as /health shows it (pending events 0, no waiting pipeline job). */
export async function drained(url: string, what: string): Promise<void> {
  await waitFor(async () => {
    const h = (await healthOf({ url })) as any;
    const d = h?.queue?.depth?.["moodle.pipeline"] ?? {};
    return h?.recommender?.pending_events === 0 && !d.queued && !d.retry;
  }, 30_000, what);
}

export async function qtable(url: string): Promise<{ updates: number; states: unknown }> {
  const r = await jsonRequest(url, "GET", `/api/v1/recommender/qtable?course_id=${COURSE}`, { token: API_TOKEN });
  expect(r.status).toBe(200);
  const body = (await r.json()) as any;
  return { updates: body.updates, states: body.states };
}

/** state_history without its ids (seq and log ids differ between databases), sorted: equal multisets = every transition once. */
export const transitionKey = (r: any) => [r.user_id, r.course_id, r.module_id, r.state, r.action ?? "", Number(r.reward ?? 0).toFixed(9), r.next_state, r.event_time].join("|");

/** The reference: one ferry on SQLite (the binary, same config) fed the same batches one after another. */
async function singleNodeReference() {
  const dir = tempDir();
  const port = freePort();
  const node = await spawnFerry(writeConfig(dir, { ...config(null), server: { port } }), port);
  children.push(node);
  expect((await jsonRequest(node.url, "POST", `/api/v1/courses/${COURSE}/structure`, { body: structure2(), token: MOODLE_TOKEN })).status).toBeLessThan(300);
  for (const b of batches) expect((await jsonRequest(node.url, "POST", "/webhook/moodle-events", { body: b, token: MOODLE_TOKEN })).status).toBe(202);
  await drained(node.url, "reference pipeline drained");
  await Bun.sleep(100);
  const q = await qtable(node.url);
  expect(await node.kill("SIGTERM")).toBe(0);
  const db = new Database(`${dir}/ferry.db`, { readonly: true });
  try {
    return {
      q,
      transitions: (db.prepare("SELECT * FROM state_history").all() as any[]).map(transitionKey).sort(),
      dkeys: (db.prepare("SELECT dkey FROM log_events").pluck().all() as number[]).sort((a, b) => a - b),
      learners: new Set(db.prepare("SELECT DISTINCT user_id FROM recommendations WHERE course_id = ?").pluck().all(COURSE) as number[]),
    };
  } finally {
    db.close();
  }
}


type Reference = Awaited<ReturnType<typeof singleNodeReference>>;

/** What the scenario saw; each test of failover.test.ts judges one guarantee from it (and from the database). */
export interface Run {
  ref: Reference;
  sql: ReturnType<typeof postgres>;
  /** The fake subscriber every node delivers to. */
  rx: FakeSubscriber;
  nodes: ClusterNode[];
  victim: ClusterNode;
  survivors: ClusterNode[];
  shard: number;
  ackedBatches: Set<number>;
  attempted: Set<string>;
  ackedEvents: Set<string>;
  /** Events the victim acknowledged just before the kill: their deliveries are its unfinished work. */
  victimAcked: Set<string>;
  /** The Moodle stream stopped on an answer that was neither 202 nor a failover (e.g. a route not ported). */
  streamError: Error | null;
  killedAt: number;
  leader: { node: ClusterNode; afterMs: number } | Error;
  fresh: { afterMs: number } | Error;
}

const settle = async <T>(p: Promise<T>): Promise<T | Error> => p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
export function ok<T>(v: T | Error): T {
  if (v instanceof Error) throw v;
  return v;
}

/** Runs the whole scenario once: the reference, then the cluster under load with the kill. */
export async function runScenario(): Promise<Run> {
  const binary = await ensureBinary();
  const ref = await singleNodeReference();
  expect(ref.q.updates).toBeGreaterThan(100);
  expect(Object.keys(ref.q.states as object).length).toBeGreaterThan(5);
  expect(ref.transitions.length).toBeGreaterThan(100);

  pg = await startPgCluster();
  const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
  rx = await FakeSubscriber.start({
    reply: async () => {
      await Bun.sleep(40); // deliveries take a moment, so some are in flight on the killed node
      return new Response("ok");
    },
  });
  const clusterConfig = {
    ...config(rx.url),
    storage: { schema: "ferry", pool: 4 },
    cluster: { heartbeat: `${HEARTBEAT_MS}ms`, leader_ttl: `${TTL_MS}ms`, shards: SHARDS },
  };

  // The node that owns course 2's shard among all three starts first, so it is also the leader.
  const ids = ["node-a", "node-b", "node-c"];
  const shard = shardOfCourse(COURSE, SHARDS);
  const victimId = ownerOf(shard, ids)!;
  const victim = await startNode(victimId, pg.url, clusterConfig, { binary });
  children.push(victim);
  await waitFor(async () => (await healthOf(victim))?.cluster?.is_leader, 10_000, `${victimId} leading`);
  const survivors = await Promise.all(ids.filter((i) => i !== victimId).map((i) => startNode(i, pg!.url, clusterConfig, { binary })));
  children.push(...survivors);
  const nodes: ClusterNode[] = [victim, ...survivors];
  await waitFor(async () => {
    const hs = await Promise.all(nodes.map(healthOf));
    return hs.every((h) => h?.cluster?.peers.length === 3 && h.cluster.leader === victimId) && hs[0]!.cluster!.owned_shards.includes(shard) && !hs.slice(1).some((h) => h!.cluster!.owned_shards.includes(shard));
  }, 15_000, "three nodes, one leader, course 2's shard on the leader");

  const run: Run = {
    ref, sql, rx, nodes, victim, survivors, shard,
    ackedBatches: new Set(), attempted: new Set(), ackedEvents: new Set(), victimAcked: new Set(),
    streamError: null, killedAt: 0,
    leader: new Error("the kill was not reached"), fresh: new Error("the kill was not reached"),
  };
  const structure = await jsonRequest(survivors[0]!.url, "POST", `/api/v1/courses/${COURSE}/structure`, { body: structure2(), token: MOODLE_TOKEN });
  if (structure.status >= 300) run.streamError = new Error(`POST /api/v1/courses/${COURSE}/structure answered ${structure.status}: ${await structure.text()}`);

  // Load: the Moodle stream one batch at a time round-robin (an unanswered batch is resent to
  // another node, as the plugin does), four publishers round-robin beside it.
  let live: ClusterNode[] = [...nodes];
  let turn = 0;
  const pick = () => live[turn++ % live.length]!;
  const sendBatch = async (i: number, first?: ClusterNode): Promise<number> => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const node = attempt === 0 && first ? first : pick();
      let answer: { status: number; text: string } | null = null;
      try {
        const r = await jsonRequest(node.url, "POST", "/webhook/moodle-events", { body: batches[i], token: MOODLE_TOKEN });
        answer = { status: r.status, text: await r.text() };
      } catch {
        // connection refused or reset (the node is gone): resend elsewhere
      }
      if (answer?.status === 202) {
        run.ackedBatches.add(i);
        return Date.now();
      }
      // 503 (database unavailable) is retried like a dead node; anything else is an answer to report.
      if (answer && answer.status !== 503) throw new Error(`batch ${i} answered ${answer.status} by ${node.id}: ${answer.text.slice(0, 300)}`);
      await Bun.sleep(50);
    }
    throw new Error(`batch ${i} never acknowledged`);
  };
  let publishing = true;
  let seq = 0;
  const publishers = Array.from({ length: 4 }, async () => {
    while (publishing && seq < 5000) {
      const id = `pub-${seq++}`;
      run.attempted.add(id);
      try {
        const r = await jsonRequest(pick().url, "POST", "/api/v1/events", { token: API_TOKEN, body: { id, name: "cluster.tick", data: { id } } });
        await r.arrayBuffer();
        if (r.status === 202) run.ackedEvents.add(id);
      } catch {
        // the node died with the request in flight: not acknowledged, may or may not exist
      }
      await Bun.sleep(5);
    }
  });

  // Kill before a batch that holds learning events of learners the reference recommends to
  // (so the probe has answers to wait for), at least 40 % into the stream.
  const learning = (b: (typeof batches)[number]) => b.logs.filter((l) => l.contextlevel === "70" && l.component?.startsWith("mod_") && ref.learners.has(Number(l.userid)));
  let killAt = Math.floor(batches.length * 0.4);
  while (killAt + 2 < batches.length && learning(batches[killAt + 1]!).length === 0) killAt++;

  const kill = async () => {
    // Deliveries in flight on every node (if the webhooks run at all), then the kill, with a
    // batch sent to the victim a moment before: it may or may not have committed; unanswered, it
    // is resent to a survivor (a duplicate there if it had committed).
    await settle(waitFor(() => rx!.requests.length >= 30, 10_000, "deliveries in flight"));
    live = live.filter((n) => n !== victim);
    // 20 events acknowledged by the victim right before it dies: their deliveries are leased to
    // it (8 at a time, 40 ms each), so most are unfinished at the kill and must come from the survivors.
    await Promise.all(
      Array.from({ length: 20 }, async (_, k) => {
        const id = `pub-victim-${k}`;
        run.attempted.add(id);
        const r = await settle(jsonRequest(victim.url, "POST", "/api/v1/events", { token: API_TOKEN, body: { id, name: "cluster.tick", data: { id } } }));
        if (!(r instanceof Error) && r.status === 202) {
          run.ackedEvents.add(id);
          run.victimAcked.add(id);
        }
      }),
    );
    const sending = run.streamError ? null : settle(sendBatch(killAt, victim));
    await Bun.sleep(2);
    victim.proc.kill("SIGKILL");
    run.killedAt = Date.now();
    await victim.proc.exited;
    const sent = await sending;
    if (sent instanceof Error) run.streamError = sent;
  };
  const probe = async (ackAt: number) => {
    // Leader: both survivors agree on a new one.
    run.leader = await settle(
      waitFor(async () => {
        const hs = await Promise.all(survivors.map(healthOf));
        const leader = hs[0]?.cluster?.leader;
        if (!leader || leader === victimId || hs.some((h) => h?.cluster?.leader !== leader)) return null;
        const node = survivors.find((n, i) => n.id === leader && hs[i]!.cluster!.is_leader);
        return node ? { node, afterMs: Date.now() - run.killedAt } : null;
      }, TTL_MS + SLACK_MS, "a survivor leading"),
    );
    if (ackAt === 0) return;
    // The shard's new owner processes the events sent after the kill, and every survivor serves
    // the refreshed answers of the killed node's learners.
    run.fresh = await settle(
      waitFor(async () => {
        const n = (await sql`SELECT count(*)::int AS n FROM ferry.log_events WHERE processed = 0`)[0]!.n;
        if (n !== 0) return null;
        const rows = await sql`SELECT user_id, module_id FROM ferry.recommendations WHERE course_id = ${COURSE} AND generated_at >= ${ackAt} LIMIT 5`;
        for (const row of rows) {
          const answers = await Promise.all(survivors.map((s) => jsonRequest(s.url, "GET", `/api/recommendations/${row.user_id}/${row.module_id}?course_id=${COURSE}`, { token: MOODLE_TOKEN }).then((r) => r.json() as any)));
          if (answers.every((a) => a.recommendations?.length > 0 && Date.parse(a.generated_at) >= ackAt)) return { afterMs: Date.now() - run.killedAt };
        }
        return null;
      }, TTL_MS + 2 * HEARTBEAT_MS + SLACK_MS, "fresh recommendations for course 2's learners from the survivors"),
    );
  };

  for (let i = 0; i < batches.length && !run.streamError; i++) {
    if (i === killAt) {
      await kill();
      continue;
    }
    const sent = await settle(sendBatch(i));
    if (sent instanceof Error) run.streamError = sent;
    else if (i === killAt + 1) await probe(sent);
  }
  if (!run.killedAt) await kill(); // the stream stopped early: kill anyway, so leader failover is still judged
  if (run.leader instanceof Error && run.leader.message === "the kill was not reached") await probe(0);
  publishing = false;
  await Promise.all(publishers);
  const leader = run.leader instanceof Error ? run.leader.message : `${run.leader.afterMs} ms`;
  const fresh = run.fresh instanceof Error ? run.fresh.message : `${run.fresh.afterMs} ms`;
  console.log(
    `failover: new leader after ${leader}; fresh recommendations after ${fresh} (heartbeat ${HEARTBEAT_MS} ms, leader_ttl ${TTL_MS} ms, queue.lease ${QUEUE_LEASE_MS} ms); ` +
      `${run.ackedBatches.size} of ${batches.length} batches and ${run.ackedEvents.size} of ${run.attempted.size} publishes acknowledged${run.streamError ? `; stream stopped: ${run.streamError.message}` : ""}`,
  );
  return run;
}

/** Survivors stopped with SIGTERM (their exit codes returned); anything left over killed; PostgreSQL removed. */
export async function stopScenario(run: Run | null): Promise<Array<number | null>> {
  const stops = run ? await Promise.all(run.survivors.map((n) => (n.proc.exitCode === null ? n.kill("SIGTERM") : n.proc.exitCode))) : [];
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
  await run?.sql.end({ timeout: 1 });
  await rx?.stop();
  await pg?.stop();
  return stops;
}
