import { createHash } from "node:crypto";
import { safeEqual } from "../../http/auth";
import { HttpError } from "../../http/errors";
import { hexSignature } from "../webhooks/signing";

/** How a POST /api/v1/jobs request was signed, and the key that recognises it when repeated. */
export interface SignedRequest {
  scheme: "body" | "legacy";
  replayKey: string;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Python's json.dumps defaults (", " and ": " separators, non-ASCII escaped): how older clients sign `lots`. */
export function pythonJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const s = JSON.stringify(value) ?? "null";
    return typeof value === "string" ? s.replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")) : s;
  }
  if (Array.isArray(value)) return "[" + value.map(pythonJson).join(", ") + "]";
  return "{" + Object.entries(value).map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`).join(", ") + "}";
}

/**
 * 401 unless the request is signed: X-Signature over the raw body, or the older body `signature` over
 * the items JSON. Returns the scheme and the replay key (a hash of what the signature covers).
 */
export function verifySignature(secret: string, raw: string, header: string | null, body: unknown): SignedRequest {
  if (header) {
    const sig = header.trim().replace(/^sha256=/i, "").toLowerCase();
    if (!safeEqual(sig, hexSignature(secret, raw))) throw new HttpError(401, "invalid_signature", "X-Signature does not match the HMAC-SHA256 of the request body");
    return { scheme: "body", replayKey: sha256(`body:${raw}`) };
  }
  const b = body as { signature?: unknown; lots?: unknown; items?: unknown } | null;
  if (b && typeof b === "object" && typeof b.signature === "string") {
    const list = b.lots ?? b.items;
    const sig = b.signature.trim().toLowerCase();
    // Older clients sign the items array as JSON: compact (JSON.stringify) or Python's json.dumps style.
    const ok = list !== undefined && [JSON.stringify(list), pythonJson(list)].some((text) => safeEqual(sig, hexSignature(secret, text)));
    if (!ok) throw new HttpError(401, "invalid_signature", "body signature does not match the HMAC-SHA256 of the items");
    // Only the items are signed: any request reusing them (whatever else it changes) is a replay.
    return { scheme: "legacy", replayKey: sha256(`items:${JSON.stringify(list)}`) };
  }
  throw new HttpError(401, "missing_signature", "jobs.secret is set: sign the request with X-Signature (hex HMAC-SHA256 of the raw body)");
}
