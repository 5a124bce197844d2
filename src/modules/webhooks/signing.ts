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
