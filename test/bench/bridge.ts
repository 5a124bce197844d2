// Bridge scenario: webhook intake (check, store the payload durably, enqueue, answer 200) against a
// bare Bun.serve in the same run. The body is a Chatwoot event the job skips without API calls, so
// this measures the endpoint, not Zendesk or Chatwoot.
import { chatwootSignature } from "../../src/modules/bridge/signatures";
import type { BenchHarness, BenchRow } from "./harness";

export async function run(h: BenchHarness): Promise<BenchRow[]> {
  const body = JSON.stringify({ event: "conversation_typing_on", conversation: { id: 42, custom_attributes: {} }, user: { id: 2, type: "user" } });
  const base = await h.baseline();
  const baseline = await h.load({ url: base.url + "/hook", method: "POST", body });
  await base.stop();

  const secret = "bench-webhook-secret";
  const bridge = {
    enabled: true,
    chatwoot: { base_url: "http://127.0.0.1:9", account_id: 1, inbox_id: 3, api_token: "bench-token", webhook_secret: secret },
    zendesk: { subdomain: "bench", email: "bench@example.com", api_token: "bench-token", signing_secret: "bench-zendesk-secret" },
    log_dir: h.tmp(),
  };
  const ferry = await h.startFerry({ bridge });
  const ts = String(Math.floor(Date.now() / 1000));
  const signed = await h.load({
    url: ferry.url + "/service-api-webhook/chatwoot-webhook",
    method: "POST",
    body,
    headers: { "x-chatwoot-timestamp": ts, "x-chatwoot-signature": chatwootSignature(secret, ts, body) },
  });
  await ferry.stop();

  const row = (r: typeof signed): BenchRow => ({
    scenario: "bridge webhook",
    target: "POST /service-api-webhook/chatwoot-webhook (HMAC checked, payload + job fsync'd)",
    rate: r.rps,
    p50_ms: r.p50,
    p99_ms: r.p99,
    ratio: r.rps / baseline.rps,
    goal: "answers within ms",
    note: r.non2xx || r.errors ? `${r.non2xx} non-2xx, ${r.errors} errors` : "",
  });
  return [{ scenario: "bridge baseline", target: "bare Bun.serve POST → 202", rate: baseline.rps, p50_ms: baseline.p50, p99_ms: baseline.p99, ratio: 1 }, row(signed)];
}
