import type { BridgeRuntime } from "./runtime";
import type { StatusRow } from "./sql";
import { unsignedWarning } from "./signatures";

/** The bridge's /health section: configured or not, last success and failure per direction, jobs, the unsigned warning. */
type Section = { ok: boolean } & Record<string, unknown>;

/** Synchronous on SQLite (its reads are), a promise on PostgreSQL. */
export function bridgeHealth(rt: BridgeRuntime): Section | Promise<Section> {
  if (!rt.cfg().enabled) return { ok: true, enabled: false };
  const jobs = rt.state.jobCounts();
  const statuses = rt.state.allStatus();
  if (jobs instanceof Promise || statuses instanceof Promise) return Promise.all([jobs, statuses]).then(([j, st]) => section(rt, j, st));
  return section(rt, jobs, statuses);
}

function section(rt: BridgeRuntime, jobs: Record<string, number>, statuses: StatusRow[]): Section {
  const cfg = rt.cfg();
  const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : null);
  const directions: Record<string, unknown> = {};
  let failing = false;
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
