import { z } from "zod";
import { duration } from "../../config/units";

// Ids may come from ${ENV} as strings; accept "2" as well as 2.
const id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, "expected a numeric id").transform(Number)]);
const url = z.union([z.literal(""), z.url({ protocol: /^https?$/, error: "expected an http(s) URL" })]);

export const bridgeConfig = z
  .strictObject({
    /** Zendesk <-> Chatwoot bridge on/off (spec/bridge.md). Off: both webhook endpoints answer 503. */
    enabled: z.boolean().default(false),
    /**
     * Accept webhooks without an inbound check (no zendesk.signing_secret, or neither chatwoot.webhook_secret
     * nor chatwoot.path_token). Off: enabling the bridge without them is a config error. On: a warning at start and in /health.
     */
    allow_unsigned: z.boolean().default(false),
    chatwoot: z
      .strictObject({
        /** Chatwoot's base URL, e.g. https://chat.example.com (required when enabled). */
        base_url: url.default(""),
        /** Account id in /api/v1/accounts/{account_id} (required when enabled). */
        account_id: id.default(0),
        /** The API-channel inbox the bridge's conversations live in (required when enabled). */
        inbox_id: id.default(0),
        /** User or agent-bot access token, sent as the api_access_token header (required when enabled; use ${ENV}). */
        api_token: z.string().default(""),
        /** HMAC secret of Chatwoot's webhook (2026+); empty = signatures not checked (then path_token, or allow_unsigned). */
        webhook_secret: z.string().default(""),
        /** Secret path token: Chatwoot posts to /chatwoot-webhook/{token} or ?token=; empty = not required. */
        path_token: z.string().default(""),
        /** How old X-Chatwoot-Timestamp may be (either way) when webhook_secret is set. */
        signature_tolerance: duration.prefault("5m"),
      })
      .prefault({}),
    zendesk: z
      .strictObject({
        /** {subdomain}.zendesk.com (required when enabled unless base_url is set). */
        subdomain: z.string().regex(/^[a-z0-9-]*$/i, "expected the subdomain only, e.g. example for example.zendesk.com").default(""),
        /** Overrides https://{subdomain}.zendesk.com (proxies, tests). Empty = derived from subdomain. */
        base_url: url.default(""),
        /** Agent e-mail for API-token basic auth "{email}/token:{api_token}" (required when enabled). */
        email: z.string().default(""),
        /** Zendesk API token (required when enabled; use ${ENV}). */
        api_token: z.string().default(""),
        /** Webhook signing secret; required when enabled unless allow_unsigned (empty = signatures not checked). */
        signing_secret: z.string().default(""),
        /** How far X-Zendesk-Webhook-Signature-Timestamp may be from now. */
        signature_tolerance: duration.prefault("5m"),
      })
      .prefault({}),
    /** How long processed message/comment ids and the bridge's own writes are remembered. */
    dedupe_window: duration.prefault("1h"),
    /** Directory of the day files log_YYYY_MM_DD.txt (/var/log/ferry under systemd). */
    log_dir: z.string().min(1).default("./logs"),
    /** Day files older than this many days are deleted (0 = keep forever). */
    log_retention_days: z.number().int().nonnegative().default(30),
    /** Timeout of one Zendesk/Chatwoot API call. */
    request_timeout: duration.prefault("15s"),
    /** Attempts per webhook job before it is dead (replayable); 429 waits count as attempts. */
    max_attempts: z.number().int().positive().default(12),
    /** When day-file retention and dedupe pruning run (croner pattern). */
    maintenance_cron: z.string().default("7 * * * *"),
  })
  .superRefine((b, ctx) => {
    if (!b.enabled) return;
    const need = (ok: boolean, path: string[], what: string) => {
      if (!ok) ctx.addIssue({ code: "custom", path, message: `required when bridge.enabled is true: ${what}` });
    };
    need(b.chatwoot.base_url !== "", ["chatwoot", "base_url"], "Chatwoot base URL");
    need(b.chatwoot.account_id > 0, ["chatwoot", "account_id"], "Chatwoot account id");
    need(b.chatwoot.inbox_id > 0, ["chatwoot", "inbox_id"], "id of the Chatwoot API inbox");
    need(b.chatwoot.api_token !== "", ["chatwoot", "api_token"], "Chatwoot access token");
    need(b.zendesk.subdomain !== "" || b.zendesk.base_url !== "", ["zendesk", "subdomain"], "Zendesk subdomain (or zendesk.base_url)");
    need(b.zendesk.email !== "", ["zendesk", "email"], "Zendesk agent e-mail");
    need(b.zendesk.api_token !== "", ["zendesk", "api_token"], "Zendesk API token");
    // Signed by default: anyone who reaches ferry could otherwise post into any ticket or conversation.
    if (b.allow_unsigned) return;
    const unsigned = " (or set bridge.allow_unsigned: true to accept unsigned webhooks)";
    need(b.zendesk.signing_secret !== "", ["zendesk", "signing_secret"], "the Zendesk webhook signing secret" + unsigned);
    need(
      b.chatwoot.webhook_secret !== "" || b.chatwoot.path_token !== "",
      ["chatwoot", "webhook_secret"],
      "bridge.chatwoot.webhook_secret or bridge.chatwoot.path_token" + unsigned,
    );
  })
  .prefault({});

export type BridgeConfig = z.output<typeof bridgeConfig>;
