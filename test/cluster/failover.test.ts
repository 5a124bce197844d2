// Three ferry nodes (the compiled binary) on one PostgreSQL, Moodle log batches and event
// publishes spread over them, the leader — which also owns course 2's shard — SIGKILLed mid-load.
// Then: nothing acknowledged is lost, every acknowledged event is delivered with one stable
// webhook-id, the Q-table equals that of a single SQLite node fed the same batches (no update
// applied twice, none lost), the killed node's learners get fresh recommendations from the
// survivors within the lease TTL (plus the queue lease and the time to process), and a survivor
// takes over the leader's maintenance.
import { afterAll, expect, test } from "bun:test";
import postgres from "postgres";
import { ownerOf, shardOfCourse } from "../../src/cluster/rendezvous";
import { Database } from "../../src/store/sqlite";
import { FakeSubscriber } from "../fakes/subscriber";
import { healthOf, startNode, type ClusterNode } from "../helpers/cluster";
import { ensureBinary, freePort, jsonRequest, spawnFerry, tempDir, waitFor, writeConfig, type ChildFerry } from "../helpers/ferry";
import { pgUnavailable, startPgCluster, type PgCluster } from "../helpers/postgres";
import { API_TOKEN, chunks, course2Logs, MOODLE_TOKEN, structure2 } from "../moodle/fixtures";

const reason = pgUnavailable();
if (reason) console.log(`test/cluster/failover.test.ts skipped: ${reason}`);

const COURSE = 2;
const SHARDS = 64;
const HEARTBEAT_MS = 250;
const TTL_MS = 2000;
const QUEUE_LEASE_MS = 2000;
/** Room for a loaded 2-core machine (every engineer's tests at once) on top of the configured times. */
const SLACK_MS = 4000;
const SECRET = "whsec_" + Buffer.from("cluster-failover-signing-key-32b").toString("base64");

// The real course-2 logstore in event-time order, 50 logs per batch with stable event ids (the
// plugin's retry of an unacknowledged batch sends the same event_id: a duplicate, never applied twice).
const logs = course2Logs().sort((a, b) => Number(a.timecreated) - Number(b.timecreated) || Number(a.id) - Number(b.id));
const batches = chunks(logs, 50).map((l, i) => ({ event_id: `clu-${i}`, logs: l }));

const children: ChildFerry[] = [];
let pg: PgCluster | null = null;
let rx: FakeSubscriber | null = null;
afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
  await rx?.stop();
  await pg?.stop();
});

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
async function drained(url: string, what: string): Promise<void> {
  await waitFor(async () => {
    const h = (await healthOf({ url })) as any;
    const d = h?.queue?.depth?.["moodle.pipeline"] ?? {};
    return h?.recommender?.pending_events === 0 && !d.queued && !d.retry;
  }, 30_000, what);
}

async function qtable(url: string): Promise<{ updates: number; states: unknown }> {
  const r = await jsonRequest(url, "GET", `/api/v1/recommender/qtable?course_id=${COURSE}`, { token: API_TOKEN });
  expect(r.status).toBe(200);
  const body = (await r.json()) as any;
  return { updates: body.updates, states: body.states };
}

/** state_history without its ids (seq and log ids differ between databases), sorted: equal multisets = every transition once. */
const transitionKey = (r: any) => [r.user_id, r.course_id, r.module_id, r.state, r.action ?? "", Number(r.reward ?? 0).toFixed(9), r.next_state, r.event_time].join("|");

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

(reason ? test.skip : test)(
  "SIGKILL of the leader (owner of the course's shard) mid-load: nothing acknowledged lost, deliveries once per webhook-id, Q-table as on one node, shard and maintenance taken over",
  async () => {
    const started = Date.now();
    const binary = await ensureBinary();
    const ref = await singleNodeReference();
    expect(ref.q.updates).toBeGreaterThan(100);

    pg = await startPgCluster();
    const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    rx = await FakeSubscriber.start({
      reply: async () => {
        await Bun.sleep(10); // deliveries take a moment, so some are in flight on the killed node
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
    const others = await Promise.all(ids.filter((i) => i !== victimId).map((i) => startNode(i, pg!.url, clusterConfig, { binary })));
    children.push(...others);
    const nodes: ClusterNode[] = [victim, ...others];
    await waitFor(async () => {
      const hs = await Promise.all(nodes.map(healthOf));
      return hs.every((h) => h?.cluster?.peers.length === 3 && h.cluster.leader === victimId) && (hs[0]!.cluster!.owned_shards.includes(shard) && !hs.slice(1).some((h) => h!.cluster!.owned_shards.includes(shard)));
    }, 15_000, "three nodes, one leader, course 2's shard on the leader");

    expect((await jsonRequest(others[0]!.url, "POST", `/api/v1/courses/${COURSE}/structure`, { body: structure2(), token: MOODLE_TOKEN })).status).toBeLessThan(300);

    // Load: the Moodle stream one batch at a time round-robin (an unanswered batch is resent to
    // another node, as the plugin does), four publishers round-robin beside it.
    let live: ClusterNode[] = [...nodes];
    let turn = 0;
    const pick = () => live[turn++ % live.length]!;
    const ackedBatches = new Set<number>();
    const attempted = new Set<string>();
    const ackedEvents = new Set<string>();
    const sendBatch = async (i: number, first?: ClusterNode): Promise<number> => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const node = attempt === 0 && first ? first : pick();
        let status = 0;
        try {
          const r = await jsonRequest(node.url, "POST", "/webhook/moodle-events", { body: batches[i], token: MOODLE_TOKEN });
          status = r.status;
          const text = await r.text();
          if (status === 202) {
            ackedBatches.add(i);
            return Date.now();
          }
          if (status < 500) throw new Error(`batch ${i} answered ${status} by ${node.id}: ${text}`);
        } catch (err) {
          if (status >= 400 && status < 500) throw err;
          // connection refused or reset (the node is gone), or 5xx: resend elsewhere
        }
        await Bun.sleep(50);
      }
      throw new Error(`batch ${i} never acknowledged`);
    };
    let publishing = true;
    let seq = 0;
    const publishers = Array.from({ length: 4 }, async () => {
      while (publishing && seq < 5000) {
        const id = `pub-${seq++}`;
        attempted.add(id);
        try {
          const r = await jsonRequest(pick().url, "POST", "/api/v1/events", { token: API_TOKEN, body: { id, name: "cluster.tick", data: { id } } });
          await r.arrayBuffer();
          if (r.status === 202) ackedEvents.add(id);
        } catch {
          // the node died with the request in flight: not acknowledged, may or may not exist
        }
        await Bun.sleep(5);
      }
    });

    // Kill before a batch that holds learning events of learners the reference recommends to
    // (so the probe below has answers to wait for), at least 40 % into the stream.
    const learning = (b: (typeof batches)[number]) => b.logs.filter((l) => l.contextlevel === "70" && l.component?.startsWith("mod_") && ref.learners.has(Number(l.userid)));
    let killAt = Math.floor(batches.length * 0.4);
    while (killAt + 2 < batches.length && learning(batches[killAt + 1]!).length === 0) killAt++;

    let killedAt = 0;
    let leaderAfterMs = NaN;
    let answersAfterMs = NaN;
    let newLeader: ClusterNode | null = null;
    for (let i = 0; i < batches.length; i++) {
      if (i < killAt) {
        await sendBatch(i);
        continue;
      }
      if (i === killAt) {
        await waitFor(() => rx!.requests.length >= 30, 20_000, "deliveries in flight");
        // The batch goes to the victim, which dies a moment later: it may or may not have
        // committed; unanswered, it is resent to a survivor (a duplicate there if it had).
        live = live.filter((n) => n !== victim);
        const sending = sendBatch(i, victim);
        await Bun.sleep(2);
        victim.proc.kill("SIGKILL");
        killedAt = Date.now();
        await victim.proc.exited;
        await sending;
        continue;
      }
      const ackAt = await sendBatch(i);
      if (i !== killAt + 1) continue;

      // Leader: both survivors agree on a new one.
      newLeader = await waitFor(async () => {
        const hs = await Promise.all(others.map(healthOf));
        const leader = hs[0]?.cluster?.leader;
        if (!leader || leader === victimId || hs.some((h) => h?.cluster?.leader !== leader)) return null;
        return others.find((n) => n.id === leader && hs[others.indexOf(n)]!.cluster!.is_leader) ?? null;
      }, TTL_MS + SLACK_MS, "a survivor leading");
      leaderAfterMs = Date.now() - killedAt;

      // Recommendations: the shard's new owner processes the events sent after the kill and any
      // survivor serves the refreshed answers of the killed node's learners.
      const fresh = await waitFor(async () => {
        const n = (await sql`SELECT count(*)::int AS n FROM ferry.log_events WHERE processed = 0`)[0]!.n;
        if (n !== 0) return null;
        const rows = await sql`SELECT user_id, module_id FROM ferry.recommendations WHERE course_id = ${COURSE} AND generated_at >= ${ackAt} LIMIT 5`;
        for (const row of rows) {
          const answers = await Promise.all(others.map((n) => jsonRequest(n.url, "GET", `/api/recommendations/${row.user_id}/${row.module_id}?course_id=${COURSE}`, { token: MOODLE_TOKEN }).then((r) => r.json() as any)));
          if (answers.every((a) => a.recommendations?.length > 0 && Date.parse(a.generated_at) >= ackAt)) return answers;
        }
        return null;
      }, TTL_MS + QUEUE_LEASE_MS + SLACK_MS, "fresh recommendations for course 2's learners from the survivors");
      answersAfterMs = Date.now() - killedAt;
      expect(fresh.length).toBe(2);
    }
    publishing = false;
    await Promise.all(publishers);
    console.log(`failover: new leader after ${leaderAfterMs} ms, fresh recommendations after ${answersAfterMs} ms (heartbeat ${HEARTBEAT_MS} ms, leader_ttl ${TTL_MS} ms, queue.lease ${QUEUE_LEASE_MS} ms); ${ackedEvents.size} of ${attempted.size} publishes acknowledged`);
    expect(ackedBatches.size).toBe(batches.length);
    expect(ackedEvents.size).toBeGreaterThan(100);
    expect(leaderAfterMs).toBeLessThanOrEqual(TTL_MS + SLACK_MS);
    expect(answersAfterMs).toBeLessThanOrEqual(TTL_MS + QUEUE_LEASE_MS + SLACK_MS);

    // The leader's maintenance (leader-only services) now runs on the new leader.
    const rescuerRuns = async () => (await healthOf(newLeader!))!.scheduler.find((s) => s.name === "queue.rescuer")!;
    const before = await rescuerRuns();
    expect(before.leader_only).toBe(true);
    await waitFor(async () => (await rescuerRuns()).runs > before.runs, 5000, "queue.rescuer running on the new leader");

    // 0 acknowledged writes lost: every batch (all were acknowledged in the end) and every acknowledged publish is in PostgreSQL.
    const storedBatches = await sql`SELECT event_id FROM ferry.moodle_batches`;
    expect(new Set(storedBatches.map((r) => r.event_id))).toEqual(new Set(batches.map((b) => b.event_id)));
    const dkeys = (await sql`SELECT dkey FROM ferry.log_events`).map((r) => Number(r.dkey)).sort((a, b) => a - b);
    expect(dkeys).toEqual(ref.dkeys);
    const storedEvents = new Set((await sql`SELECT id FROM ferry.events WHERE id LIKE 'pub-%'`).map((r) => r.id as string));
    expect([...ackedEvents].filter((id) => !storedEvents.has(id))).toEqual([]);
    for (const id of storedEvents) expect(attempted.has(id)).toBe(true); // nothing invented

    // Every acknowledged event delivered at least once; a redelivery carries the same webhook-id and bytes.
    await waitFor(() => {
      const got = new Set(rx!.requests.map((r) => r.headers["x-event-id"]));
      return [...ackedEvents].every((id) => got.has(id));
    }, 30_000, "every acknowledged event delivered");
    const byEvent = new Map<string, { webhookId: string; body: string }>();
    const eventOfWebhookId = new Map<string, string>();
    let redeliveries = 0;
    for (const r of rx.requests) {
      const eventId = r.headers["x-event-id"]!;
      const webhookId = r.headers["webhook-id"]!;
      expect(webhookId).toBeTruthy();
      expect(attempted.has(eventId)).toBe(true);
      const prev = byEvent.get(eventId);
      if (prev) {
        redeliveries++;
        expect(webhookId).toBe(prev.webhookId);
        expect(r.body).toBe(prev.body);
      } else byEvent.set(eventId, { webhookId, body: r.body });
      expect(eventOfWebhookId.get(webhookId) ?? eventId).toBe(eventId);
      eventOfWebhookId.set(webhookId, eventId);
    }
    await waitFor(async () => (await sql`SELECT count(*)::int AS n FROM ferry.webhook_deliveries WHERE status != 'delivered'`)[0]!.n === 0, 20_000, "every delivery row delivered");

    // No Q-update applied twice (or lost): once drained, the course's owner among the survivors
    // holds exactly the Q-table of the single node, and the stored transitions are the same.
    await waitFor(async () => (await sql`SELECT count(*)::int AS n FROM ferry.jobs WHERE kind = 'moodle.pipeline' AND status IN ('queued', 'retry', 'running')`)[0]!.n === 0, 20_000, "pipeline jobs finished");
    await drained(others[0]!.url, "cluster pipeline drained");
    const owner = others.find((n) => n.id === ownerOf(shard, others.map((o) => o.id)))!;
    const q = await qtable(owner.url);
    expect(q.updates).toBe(ref.q.updates);
    expect(q.states).toEqual(ref.q.states);
    const transitions = (await sql`SELECT * FROM ferry.state_history`).map(transitionKey).sort();
    expect(transitions).toEqual(ref.transitions);

    console.log(`failover test: ${batches.length} batches, ${rx.requests.length} deliveries of ${byEvent.size} events (${redeliveries} redeliveries), ${q.updates} Q-updates, ${Math.round((Date.now() - started) / 1000)} s in all`);
    for (const n of others) expect(await n.kill("SIGTERM")).toBe(0);
    await sql.end({ timeout: 1 });
  },
  180_000,
);
