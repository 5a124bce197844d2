// DOM helpers. Text always goes in through text nodes (never HTML), so nothing the server sends
// can become markup or script.

/** h("a", { href: "#/x", onclick: fn }, "text", child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/**
 * Replaces an element's children (each poll). Elements with a data-key keep keyboard focus and,
 * for <details>, their open state across the swap.
 */
export function replace(el, ...children) {
  const key = document.activeElement?.dataset?.key;
  const open = new Set([...el.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key));
  el.replaceChildren();
  add(el, children);
  for (const d of el.querySelectorAll("details[data-key]")) if (open.has(d.dataset.key)) d.open = true;
  if (key) el.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

const ABS = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A <time> showing "3 min ago" with the exact time as its title. */
export function when(isoText) {
  if (!isoText) return h("span", { class: "muted" }, "never");
  const t = Date.parse(isoText);
  return h("time", { datetime: isoText, title: ABS.format(t) }, ago(t));
}

export function ago(t) {
  const s = Math.round((Date.now() - t) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  const text = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` : a < 86400 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

const TONE = {
  ok: "ok", healthy: "ok", delivered: "ok", done: "ok", completed: "ok", closed: "ok", active: "ok",
  degraded: "warn", retrying: "warn", retry: "warn", pending: "warn", queued: "warn", running: "warn", half_open: "warn", partially_completed: "warn",
  failing: "bad", failed: "bad", dead: "bad", open: "bad", unavailable: "bad", disabled: "bad", error: "bad",
};

export function badge(text, tone = TONE[text] ?? "") {
  return h("span", { class: `badge ${tone}` }, text);
}

/** table(["Col", ...], rows) where each row is an array of cells (text or nodes); numeric columns by index. */
export function table(caption, headers, rows, numeric = []) {
  return h(
    "table",
    {},
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, headers.map((x, i) => h("th", { scope: "col", class: numeric.includes(i) ? "num" : null }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { class: numeric.includes(i) ? "num" : typeof c === "string" && c.length > 40 ? "wrap" : null }, c))))),
  );
}

/** <dl> of [label, value] pairs (null values are skipped). */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter((p) => p && p[1] !== undefined).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}

export function pre(value) {
  return h("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

export function num(n, digits = 0) {
  return n === null || n === undefined ? "—" : Number(n).toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function pct(rate) {
  return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)} %`;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A small chart of points [{x (ms), y}], drawn as a line (or bars); `label` describes it for screen readers. */
export function chart(points, { label, bars = false, from, to }) {
  const W = 600;
  const H = 100;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": label });
  svg.append(s("line", { class: "axis", x1: 0, y1: H - 1, x2: W, y2: H - 1 }));
  const max = Math.max(1, ...points.map((p) => p.y));
  const x = (t) => ((t - from) / Math.max(1, to - from)) * W;
  const y = (v) => H - 2 - (v / max) * (H - 8);
  if (bars) {
    const w = Math.max(2, W / 60 - 2);
    // The current minute's bar is centred past "now": keep it inside the chart.
    for (const p of points) if (p.y > 0) svg.append(s("rect", { class: "bar", x: Math.min(x(p.x) - w / 2, W - w), y: y(p.y), width: w, height: H - 2 - y(p.y) }));
  } else if (points.length) {
    const d = points.map((p, i) => `${i ? "L" : "M"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ");
    svg.append(s("path", { class: "area", d: `${d} L${x(points[points.length - 1].x).toFixed(1)},${H - 1} L${x(points[0].x).toFixed(1)},${H - 1} Z` }));
    svg.append(s("path", { class: "line", d }));
  }
  return svg;
}
