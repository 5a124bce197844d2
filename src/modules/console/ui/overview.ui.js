// Overview: each part's health, what is failing or dead, and the queue's last hour.
import { badge, chart, h, num, replace, table, when } from "./dom.js";

const WEBHOOK_KIND = "webhook:";

function sumDepth(depth) {
  const t = { queued: 0, running: 0, retry: 0, dead: 0 };
  for (const byStatus of Object.values(depth ?? {})) for (const k of Object.keys(t)) t[k] += byStatus[k] ?? 0;
  return t;
}

/** tone: "ok" | "warn" | "bad" | "" (off) */
function card(name, tone, state, ...lines) {
  return h("article", { class: "card", "aria-label": `${name}: ${state}` }, h("h3", {}, name, badge(state, tone)), lines.map((l) => h("p", {}, l)));
}
const tone = (ok) => (ok ? "ok" : "bad");

function parts(health) {
  const q = sumDepth(health.queue?.depth);
  const sched = health.scheduler ?? [];
  const badJobs = sched.filter((j) => !j.ok);
  const rec = health.recommender;
  const wh = health.webhooks;
  const br = health.bridge;
  const list = [
    card("Store", tone(health.database.ok), health.database.ok ? "ok" : "unavailable", health.database.error ?? `schema ${health.database.schema_version}`, ["last commit ", when(health.database.last_commit_at)]),
    card("Queue", tone(q.dead === 0), q.dead === 0 ? "ok" : `${q.dead} dead`, `${num(q.queued + q.retry)} waiting, ${num(q.running)} running`, `${num(health.queue?.done)} done (kept)`),
    card("Scheduler", tone(badJobs.length === 0), badJobs.length === 0 ? "ok" : "failing", `${sched.length} services`, badJobs.length ? `failing: ${badJobs.map((j) => j.name).join(", ")}` : "all last runs succeeded"),
  ];
  if (rec) list.push(card("Recommender", tone(rec.ok !== false), rec.ok === false ? "failing" : "ok", `${num(rec.pending_events)} events pending`, `${num(rec.courses)} courses learned`));
  if (wh) {
    const subs = Object.values(wh.subscribers ?? {});
    list.push(card("Webhooks", wh.status === "healthy" ? "ok" : wh.status === "failing" ? "bad" : "warn", wh.status, `${subs.length} subscribers`, `${subs.filter((s) => s.status !== "healthy").length} not healthy`));
  }
  if (br) {
    if (!br.enabled) list.push(card("Bridge", "", "off", "bridge.enabled: false"));
    else list.push(card("Bridge", tone(br.ok), br.ok ? "ok" : "failing", `${num(br.jobs?.dead ?? 0)} dead jobs`, `${num((br.jobs?.queued ?? 0) + (br.jobs?.retry ?? 0))} waiting`));
  }
  return list;
}

function problems(health, metrics) {
  const depth = health.queue?.depth ?? {};
  const rows = Object.entries(depth)
    .filter(([, s]) => (s.dead ?? 0) + (s.retry ?? 0) > 0)
    .map(([kind, s]) => {
      const link = kind.startsWith(WEBHOOK_KIND)
        ? h("a", { href: `#/deliveries?subscriber=${encodeURIComponent(kind.slice(WEBHOOK_KIND.length))}` }, `Deliveries of ${kind.slice(WEBHOOK_KIND.length)}`)
        : h("a", { href: `#/jobs?kind=${encodeURIComponent(kind)}&status=dead` }, `Dead ${kind} jobs`);
      return [kind, num(s.retry), num(s.dead), link];
    });
  const t = metrics.total;
  // Webhook kinds' dead jobs are failed or dead deliveries, counted in the cards before.
  const deadJobs = Object.entries(depth).filter(([kind]) => !kind.startsWith(WEBHOOK_KIND)).reduce((n, [, s]) => n + (s.dead ?? 0), 0);
  return [
    h(
      "div",
      { class: "cards" },
      h("article", { class: "card" }, h("h3", {}, "Failed deliveries (24 h)"), h("p", { class: "big" }, num(t.failed)), h("a", { href: "#/deliveries?status=failed" }, "Review failed deliveries")),
      h("article", { class: "card" }, h("h3", {}, "Dead deliveries (24 h)"), h("p", { class: "big" }, num(t.dead)), h("a", { href: "#/deliveries?status=dead" }, "Review dead deliveries")),
      h("article", { class: "card" }, h("h3", {}, "Deliveries waiting"), h("p", { class: "big" }, num(t.pending)), h("p", {}, `success rate ${t.success_rate === null ? "—" : (t.success_rate * 100).toFixed(1) + " %"}`)),
      h("article", { class: "card" }, h("h3", {}, "Dead jobs (not deliveries)"), h("p", { class: "big" }, num(deadJobs)), h("a", { href: "#/jobs?status=dead" }, "Review dead jobs")),
    ),
    rows.length ? table("Job kinds with retrying or dead work", ["Kind", "Retrying", "Dead", ""], rows, [1, 2]) : h("p", { class: "muted" }, "No job kind has retrying or dead work."),
  ];
}

/** Server samples (every 5 s) plus the "now" sample of each poll this page made, oldest first. */
function merge(server, seen, from) {
  const byTime = new Map();
  for (const p of [...server, ...seen]) if (Date.parse(p.at) >= from) byTime.set(p.at, p);
  return [...byTime.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function history(queue, seen) {
  const to = Date.now();
  const from = to - queue.minutes * 60_000;
  const s = merge(queue.samples, seen, from);
  const waiting = s.map((p) => ({ x: Date.parse(p.at), y: p.waiting + p.running }));
  // Completed per bar (a 60th of the window): counter differences between samples.
  const bucket = (queue.minutes * 60_000) / 60;
  const perBucket = new Map();
  for (let i = 1; i < s.length; i++) {
    const d = s[i].done_total - s[i - 1].done_total;
    if (d <= 0) continue; // a restart resets the counters
    const b = Math.floor(Date.parse(s[i].at) / bucket) * bucket + bucket / 2;
    perBucket.set(b, (perBucket.get(b) ?? 0) + d);
  }
  const done = [...perBucket].map(([x, y]) => ({ x, y }));
  const total = done.reduce((a, p) => a + p.y, 0);
  const now = s[s.length - 1];
  const peak = Math.max(0, ...waiting.map((p) => p.y));
  const minutes = Math.max(1, (to - (s.length ? Date.parse(s[0].at) : to)) / 60_000);
  const depthNow = now.waiting + now.running;
  const per = bucket >= 60_000 ? `${bucket / 60_000} min` : `${bucket / 1000} s`;
  return [
    h(
      "div",
      { class: "charts" },
      h("figure", { class: "chart" }, h("figcaption", {}, `Waiting and running jobs: ${num(depthNow)} now, peak ${num(peak)}`), chart(waiting, { label: `Queue depth over the last ${queue.minutes} minutes: now ${depthNow}, peak ${peak}`, from, to })),
      h("figure", { class: "chart" }, h("figcaption", {}, `Jobs completed: ${num(total)} (${num(total / minutes, 1)}/min), one bar per ${per}`), chart(done, { label: `Jobs completed over the last ${queue.minutes} minutes: ${total}`, bars: true, from, to })),
    ),
    h("p", { class: "muted" }, "Sampled every 5 s by this ferry process since it started (at most the last hour), and at each refresh of this page."),
  ];
}

export const overviewPage = {
  title: () => "Overview",
  nav: "overview",
  render(view, _params, ui) {
    const summary = h("p");
    const partsBox = h("div", { class: "cards" });
    const problemsBox = h("div");
    const historyBox = h("div");
    const seen = []; // this page's own polls: finer than the server's samples while watching
    const span = h("select", { id: "o-minutes", "aria-label": "Queue history window" }, [["5", "last 5 minutes"], ["15", "last 15 minutes"], ["60", "last hour"]].map(([v, t]) => h("option", { value: v, selected: v === "60" }, t)));
    span.addEventListener("change", () => ui.refresh());
    view.append(summary, h("h2", {}, "Health"), partsBox, h("h2", {}, "Failing and dead work"), problemsBox, h("h2", { class: "with-control" }, "Queue ", span), historyBox);
    return async () => {
      const [health, metrics, queue] = await Promise.all([
        ui.api("GET", "/health", undefined, { accept: [503] }),
        ui.api("GET", "/api/v1/webhook-metrics?hours=24"),
        ui.api("GET", `/api/v1/console/queue?minutes=${span.value}`),
      ]);
      replace(summary, "ferry ", health.version, " is ", badge(health.status), "; started ", when(health.started_at), ".");
      replace(partsBox, parts(health));
      replace(problemsBox, problems(health, metrics));
      seen.push(queue.samples[queue.samples.length - 1]);
      if (seen.length > 1200) seen.shift();
      replace(historyBox, history(queue, seen));
    };
  },
};
