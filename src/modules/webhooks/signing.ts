import { createHmac } from "node:crypto";

/** `X-Signature`: hex HMAC-SHA256 of the raw body with the secret string as key (what existing receivers verify). */
export function hexSignature(secret: string, body: string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** The Standard Webhooks key: the base64 part of a `whsec_` secret decoded, else the secret's raw bytes. */
export function standardKey(secret: string): Buffer {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
}

/** `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`. */
export function standardSignature(key: Buffer, id: string, timestampSec: number, body: string): string {
  return "v1," + createHmac("sha256", key).update(`${id}.${timestampSec}.${body}`).digest("base64");
}

// The decoded Standard Webhooks key per secret (decoding a base64 secret on every attempt is waste).
const keys = new Map<string, Buffer>();
function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size > 1000) keys.clear(); // secrets only change on reload: keep the map bounded
    keys.set(secret, (key = standardKey(secret)));
  }
  return key;
}

/**
 * The request headers of one attempt. Subscribers: event headers, Authorization, X-Signature with
 * the current secret and Standard Webhooks headers with one `v1,` signature per secret (current
 * first, then each previous one), so receivers keep verifying during a rotation. Job webhooks:
 * Content-Type, User-Agent and X-Signature only.
 */
export function deliveryHeaders(
  t: { standardHeaders: boolean; headers: Record<string, string>; apiKey: string; secret: string; previousSecrets: string[] },
  row: { id: string; event_id: string | null; event_name: string; body: string },
  attempt: number,
  userAgent: string,
): Record<string, string> {
  const h: Record<string, string> = t.standardHeaders ? { ...t.headers } : {};
  h["content-type"] = "application/json";
  h["user-agent"] = userAgent;
  if (t.standardHeaders) {
    h["x-event-name"] = row.event_name;
    if (row.event_id) h["x-event-id"] = row.event_id;
    h["x-delivery-attempt"] = String(attempt);
    if (t.apiKey) h.authorization = `Bearer ${t.apiKey}`;
  }
  if (!t.secret) return h;
  h["x-signature"] = hexSignature(t.secret, row.body);
  if (t.standardHeaders) {
    // Wall-clock seconds (not ctx.clock): receivers check it against their own clock.
    const ts = Math.floor(Date.now() / 1000);
    h["webhook-id"] = row.id;
    h["webhook-timestamp"] = String(ts);
    h["webhook-signature"] = [t.secret, ...t.previousSecrets].map((s) => standardSignature(keyOf(s), row.id, ts, row.body)).join(" ");
  }
  return h;
}
