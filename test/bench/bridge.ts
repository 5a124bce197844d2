// Bridge scenario: webhook intake (check, store the payload durably, enqueue, answer 200) against a
// bare Bun.serve in the same run. The body is a Chatwoot event the job skips without API calls, so
// this measures the endpoint, not Zendesk or Chatwoot. Then the same intake with ferry on SQLite
// and on PostgreSQL (a local throwaway cluster, fsync on), alternating rounds in the same run.
import { chatwootSignature } from "../../src/modules/bridge/signatures";
import { pgUnavailable, startPgCluster } from "../helpers/postgres";
import type { BenchHarness, BenchRow, LoadResult } from "./harness";

const body = JSON.stringify({ event: "conversation_typing_on", conversation: { id: 42, custom_attributes: {} }, user: { id: 2, type: "user" } });
const secret = "bench-webhook-secret";

function bridgeConfig(h: BenchHarness) {
  return {
    enabled: true,
    chatwoot: { base_url: "http://127.0.0.1:9", account_id: 1, inbox_id: 3, api_token: "bench-token", webhook_secret: secret },
    zendesk: { subdomain: "bench", email: "bench@example.com", api_token: "bench-token", signing_secret: "bench-zendesk-secret" },
    log_dir: h.tmp(),
  };
}

function intake(h: BenchHarness, url: string): Promise<LoadResult> {
  const ts = String(Math.floor(Date.now() / 1000));
  return h.load({
    url: url + "/service-api-webhook/chatwoot-webhook",
    method: "POST",
    body,
    headers: { "x-chatwoot-timestamp": ts, "x-chatwoot-signature": chatwootSignature(secret, ts, body) },
  });
}

const note = (r: LoadResult) => (r.non2xx || r.errors ? `${r.non2xx} non-2xx, ${r.errors} errors` : "");

export async function run(h: BenchHarness): Promise<BenchRow[]> {
  const base = await h.baseline();
  const baseline = await h.load({ url: base.url + "/hook", method: "POST", body });
  await base.stop();

  const ferry = await h.startFerry({ bridge: bridgeConfig(h) });
  const signed = await intake(h, ferry.url);
  await ferry.stop();

  const rows: BenchRow[] = [
    { scenario: "bridge baseline", target: "bare Bun.serve POST → 202", rate: baseline.rps, p50_ms: baseline.p50, p99_ms: baseline.p99, ratio: 1 },
    {
      scenario: "bridge webhook",
      target: "POST /service-api-webhook/chatwoot-webhook (HMAC checked, payload + job fsync'd)",
      rate: signed.rps,
      p50_ms: signed.p50,
      p99_ms: signed.p99,
      ratio: signed.rps / baseline.rps,
      goal: "answers within ms",
      note: note(signed),
    },
  ];
  return [...rows, ...(await sqliteVsPostgres(h))];
}

/** The same intake on SQLite and on PostgreSQL, alternating rounds (BENCH_ROUNDS, default 2). */
async function sqliteVsPostgres(h: BenchHarness): Promise<BenchRow[]> {
  const why = pgUnavailable();
  if (why) return [{ scenario: "bridge webhook", target: "ferry on PostgreSQL: skipped", rate: NaN, note: why }];
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const cluster = await startPgCluster();
  const lite: LoadResult[] = [];
  const pg: LoadResult[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const a = await h.startFerry({ bridge: bridgeConfig(h) });
      lite.push(await intake(h, a.url));
      await a.stop();
      const b = await h.startFerry({ bridge: bridgeConfig(h), storage: { driver: "postgres", url: cluster.url, schema: `bench_bridge_${r}`, pool: 8 } });
      pg.push(await intake(h, b.url));
      await b.stop();
    }
  } finally {
    await cluster.stop();
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const list = (rs: LoadResult[]) => rs.map((r) => Math.round(r.rps).toLocaleString("en-US")).join(", ");
  const sqliteRate = median(lite.map((r) => r.rps));
  const pgRate = median(pg.map((r) => r.rps));
  return [
    { scenario: "bridge webhook", target: "ferry on SQLite (alternating rounds)", rate: sqliteRate, p50_ms: lite.at(-1)!.p50, p99_ms: lite.at(-1)!.p99, ratio: 1, note: `rounds ${list(lite)}` },
    {
      scenario: "bridge webhook",
      target: "ferry on PostgreSQL (local, fsync on)",
      rate: pgRate,
      p50_ms: pg.at(-1)!.p50,
      p99_ms: pg.at(-1)!.p99,
      ratio: pgRate / sqliteRate,
      goal: "≥ 0.5× SQLite",
      note: `rounds ${list(pg)}; per round ${pg.map((r, i) => (r.rps / lite[i]!.rps).toFixed(2)).join(", ")}× SQLite${note(pg.at(-1)!) ? `; ${note(pg.at(-1)!)}` : ""}`,
    },
  ];
}
