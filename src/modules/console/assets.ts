import shell from "./ui/index.html" with { type: "text" };
import css from "./ui/console.css" with { type: "text" };
import icon from "./ui/favicon.svg" with { type: "text" };
import app from "./ui/app.ui.js" with { type: "text" };
import dom from "./ui/dom.ui.js" with { type: "text" };
import api from "./ui/api.ui.js" with { type: "text" };
import overview from "./ui/overview.ui.js" with { type: "text" };
import subscribers from "./ui/subscribers.ui.js" with { type: "text" };
import deliveries from "./ui/deliveries.ui.js" with { type: "text" };
import jobs from "./ui/jobs.ui.js" with { type: "text" };
import bridge from "./ui/bridge.ui.js" with { type: "text" };
import learner from "./ui/learner.ui.js" with { type: "text" };
import config from "./ui/config.ui.js" with { type: "text" };

/**
 * Scripts and styles only from /ui itself, no inline code, API calls only to this origin, never
 * framed, forms never submitted by the browser (the sign-in token must not land in a URL).
 */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  "content-security-policy": CSP,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

// bun-types types *.html imports as HTML bundles; with type "text" the import is the file's text.
const html = shell as unknown as string;
const JS = "text/javascript; charset=utf-8";

/** Served name → [content type, text]. The HTML shell holds no data; everything comes after sign-in. */
export const ASSETS: Record<string, [string, string]> = {
  "index.html": ["text/html; charset=utf-8", html],
  "console.css": ["text/css; charset=utf-8", css],
  "favicon.svg": ["image/svg+xml", icon],
  "app.js": [JS, app],
  "dom.js": [JS, dom],
  "api.js": [JS, api],
  "overview.js": [JS, overview],
  "subscribers.js": [JS, subscribers],
  "deliveries.js": [JS, deliveries],
  "jobs.js": [JS, jobs],
  "bridge.js": [JS, bridge],
  "learner.js": [JS, learner],
  "config.js": [JS, config],
};

/** Bytes of the whole console (every asset once). */
export function consoleSize(): number {
  let n = 0;
  for (const [, text] of Object.values(ASSETS)) n += Buffer.byteLength(text);
  return n;
}

// Compressed once, on first request (text shrinks to about a third: fewer bytes on a slow link).
const gzipped = new Map<string, Uint8Array>();

export function assetResponse(name: string, acceptEncoding: string | null): Response | null {
  const asset = ASSETS[name];
  if (!asset) return null;
  const headers: Record<string, string> = {
    "content-type": asset[0],
    // Small files, revalidated each time so an upgraded binary is picked up at once.
    "cache-control": name === "index.html" ? "no-store" : "no-cache",
    vary: "accept-encoding",
    ...SECURITY_HEADERS,
  };
  if (!/\bgzip\b/.test(acceptEncoding ?? "")) return new Response(asset[1], { headers });
  let body = gzipped.get(name);
  if (!body) gzipped.set(name, (body = Bun.gzipSync(Buffer.from(asset[1]))));
  return new Response(body, { headers: { ...headers, "content-encoding": "gzip" } });
}
