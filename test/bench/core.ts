// Foundation scenario: the durable write path (group commit, synchronous=FULL) through a real
// route, against a bare Bun.serve answering 202 in the same run.
import type { BenchHarness, BenchRow } from "./harness";

export async function run(h: BenchHarness): Promise<BenchRow[]> {
  const base = await h.baseline();
  const event = JSON.stringify({ name: "attempt.submitted", context: { tenantId: "t1", userId: "u1" }, data: { attemptId: "a1", score: 85 } });
  const baseline = await h.load({ url: base.url + "/publish", method: "POST", body: event });
  await base.stop();

  const ferry = await h.startFerry({ auth: { api_tokens: ["bench-token"] } });
  const durable = await h.load({ url: ferry.url + "/api/v1/events", method: "POST", body: event, headers: { authorization: "Bearer bench-token" } });
  await ferry.stop();

  const rows: BenchRow[] = [
    { scenario: "baseline", target: "bare Bun.serve POST → 202", rate: baseline.rps, p50_ms: baseline.p50, p99_ms: baseline.p99, ratio: 1 },
    {
      scenario: "durable write",
      target: "POST /api/v1/events (fsync'd group commit)",
      rate: durable.rps,
      p50_ms: durable.p50,
      p99_ms: durable.p99,
      ratio: durable.rps / baseline.rps,
      goal: "≥ 0.40×",
      note: durable.non2xx || durable.errors ? `${durable.non2xx} non-2xx, ${durable.errors} errors` : "",
    },
  ];
  return rows;
}
