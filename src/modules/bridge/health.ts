import type { BridgeRuntime } from "./runtime";
import { unsignedWarning } from "./signatures";
import * as sql from "./sql";

/** The bridge's /health section: configured or not, last success and failure per direction, jobs, the unsigned warning. */
export function bridgeHealth(rt: BridgeRuntime): { ok: boolean } & Record<string, unknown> {
  const cfg = rt.cfg();
  if (!cfg.enabled) return { ok: true, enabled: false };
  const db = rt.ctx.store.db;
  const jobs = sql.jobCounts(db);
  const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : null);
  const directions: Record<string, unknown> = {};
  let failing = false;
  const statuses = sql.allStatus(db);
  for (const d of ["zendesk_to_chatwoot", "chatwoot_to_zendesk"] as const) {
    const r = statuses.find((x) => x.direction === d);
    const lastFailed = !!r?.last_failure_at && r.last_failure_at > (r.last_success_at ?? 0);
    failing ||= lastFailed;
    directions[d] = {
      ok: !lastFailed,
      last_success_at: iso(r?.last_success_at ?? null),
      last_success: r?.last_success ?? null,
      last_failure_at: iso(r?.last_failure_at ?? null),
      last_failure: r?.last_failure ?? null,
    };
  }
  const warning = unsignedWarning(cfg);
  return {
    ok: !failing && jobs.dead === 0,
    enabled: true,
    ...(warning ? { warnings: [warning] } : {}),
    chatwoot: { base_url: cfg.chatwoot.base_url, inbox_id: cfg.chatwoot.inbox_id, signature: cfg.chatwoot.webhook_secret ? "hmac" : "none", path_token: !!cfg.chatwoot.path_token },
    zendesk: { base_url: cfg.zendesk.base_url || `https://${cfg.zendesk.subdomain}.zendesk.com`, signature: cfg.zendesk.signing_secret ? "hmac" : "none" },
    ...directions,
    jobs,
    log_dir: cfg.log_dir,
  };
}
