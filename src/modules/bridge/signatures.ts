import { createHmac } from "node:crypto";
import { safeEqual, tokenMatches } from "../../http/auth";
import { HttpError } from "../../http/errors";
import type { BridgeConfig } from "./config";

/** Zendesk: base64(HMAC-SHA256(secret, timestamp + raw body)); the secret is used as-is. */
export function zendeskSignature(secret: string, timestamp: string, raw: string): string {
  return createHmac("sha256", secret).update(timestamp + raw).digest("base64");
}

/** Chatwoot (PR #13573): "sha256=" + hex(HMAC-SHA256(secret, "{timestamp}.{raw body}")). */
export function chatwootSignature(secret: string, timestamp: string, raw: string): string {
  return "sha256=" + createHmac("sha256", secret).update(`${timestamp}.${raw}`).digest("hex");
}

const unauthorized = (message: string) => new HttpError(401, "unauthorized", message);

/** Throws 401 unless the Zendesk request is signed with the configured secret and recent enough. */
export function checkZendesk(cfg: BridgeConfig, headers: Headers, raw: string, now: number): void {
  const secret = cfg.zendesk.signing_secret;
  if (!secret) return;
  const sig = headers.get("x-zendesk-webhook-signature");
  const ts = headers.get("x-zendesk-webhook-signature-timestamp");
  if (!sig || !ts) throw unauthorized("missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp (bridge.zendesk.signing_secret is set)");
  const at = Date.parse(ts);
  if (!Number.isFinite(at)) throw unauthorized("X-Zendesk-Webhook-Signature-Timestamp is not an ISO 8601 time");
  const tolerance = cfg.zendesk.signature_tolerance;
  if (Math.abs(now - at) > tolerance) throw unauthorized(`X-Zendesk-Webhook-Signature-Timestamp is more than ${Math.round(tolerance / 1000)} s away from now`);
  if (!safeEqual(sig, zendeskSignature(secret, ts, raw))) throw unauthorized("X-Zendesk-Webhook-Signature does not match the body");
}

/** Throws 401 unless each configured Chatwoot check passes: the path token and/or the HMAC signature. */
export function checkChatwoot(cfg: BridgeConfig, headers: Headers, raw: string, pathToken: string | undefined, now: number): void {
  const c = cfg.chatwoot;
  if (c.path_token && !tokenMatches(pathToken, [c.path_token])) {
    throw unauthorized(pathToken ? "invalid webhook token" : "missing webhook token: post to /service-api-webhook/chatwoot-webhook/{token} or add ?token=");
  }
  if (!c.webhook_secret) return;
  const sig = headers.get("x-chatwoot-signature");
  const ts = headers.get("x-chatwoot-timestamp");
  if (!sig || !ts) throw unauthorized("missing X-Chatwoot-Signature or X-Chatwoot-Timestamp (bridge.chatwoot.webhook_secret is set)");
  if (!/^\d{1,12}$/.test(ts)) throw unauthorized("X-Chatwoot-Timestamp is not unix seconds");
  if (Math.abs(now - Number(ts) * 1000) > c.signature_tolerance) {
    throw unauthorized(`X-Chatwoot-Timestamp is more than ${Math.round(c.signature_tolerance / 1000)} s away from now`);
  }
  if (!safeEqual(sig, chatwootSignature(c.webhook_secret, ts, raw))) throw unauthorized("X-Chatwoot-Signature does not match the body");
}

/** The inbound sides that have no check configured (empty when both are signed or token-protected). */
export function unsignedSides(cfg: BridgeConfig): string[] {
  const out: string[] = [];
  if (!cfg.zendesk.signing_secret) out.push("Zendesk (no bridge.zendesk.signing_secret)");
  if (!cfg.chatwoot.webhook_secret && !cfg.chatwoot.path_token) out.push("Chatwoot (no bridge.chatwoot.webhook_secret or path_token)");
  return out;
}

/** The warning shown at start and in /health when the bridge runs with allow_unsigned and a side is unchecked. */
export function unsignedWarning(cfg: BridgeConfig): string | null {
  const sides = unsignedSides(cfg);
  if (!cfg.enabled || sides.length === 0) return null;
  return `bridge.allow_unsigned is true: unsigned webhooks are accepted from ${sides.join(" and ")}; anyone who can reach ferry can post through the bridge`;
}
