// Jobs: the durable queue (filter by status and kind, replay dead jobs) and a job's payload and
// result; a jobs-API job also shows its status and per-item results.
import { q } from "./api.js";
import { badge, facts, h, pre, replace, table, when } from "./dom.js";

const STATUSES = ["", "queued", "running", "retry", "done", "dead"];
const WEBHOOK_KIND = "webhook:";

/** A Replay button for a dead job, or (webhook deliveries keep their own state) a link to its deliveries. */
export function replayControl(ui, job) {
  if (job.status !== "dead") return null;
  if (job.kind.startsWith(WEBHOOK_KIND)) {
    return h("a", { href: `#/deliveries?subscriber=${encodeURIComponent(job.kind.slice(WEBHOOK_KIND.length))}&status=dead` }, "Replay from deliveries");
  }
  const b = h("button", { type: "button", "aria-label": `Replay job ${job.id}`, "data-key": `replay-${job.id}` }, "Replay");
  b.addEventListener("click", () =>
    ui.act(b, `Replay dead job ${job.id} (${job.kind})? It runs again with a fresh attempt budget.`, "Replay job", async () => {
      await ui.api("POST", `/api/v1/queue/jobs/${job.id}/replay`);
      return `Job ${job.id} queued again.`;
    }),
  );
  return b;
}

export function jobRows(ui, jobs) {
  return jobs.map((j) => [
    h("a", { href: `#/job/${j.id}`, "aria-label": `Job ${j.id}`, "data-key": `job-${j.id}` }, String(j.id)),
    j.kind,
    badge(j.status),
    // Webhook kinds carry a huge attempt budget (the delivery counts its own attempts).
    j.max_attempts >= 1000 ? String(j.attempts) : `${j.attempts}/${j.max_attempts}`,
    j.status === "queued" || j.status === "retry" ? when(j.run_at) : when(j.finished_at ?? j.created_at),
    j.last_error ?? "—",
    replayControl(ui, j) ?? "",
  ]);
}

export const jobsPage = {
  title: () => "Jobs",
  nav: "jobs",
  render(view, params, ui) {
    const status = h("select", { id: "j-status" }, STATUSES.map((s) => h("option", { value: s, selected: (params.status ?? "") === s }, s || "any status")));
    const kind = h("input", { id: "j-kind", value: params.kind ?? "", placeholder: "e.g. api.job", size: 18 });
    const form = h("form", { class: "filters", "aria-label": "Filter jobs" }, h("label", { for: "j-status" }, "Status", status), h("label", { for: "j-kind" }, "Kind", kind), h("button", { type: "submit", class: "primary" }, "Apply filters"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      ui.go(`#/jobs${q({ status: status.value, kind: kind.value.trim() })}`);
    });
    const apiId = h("input", { id: "j-api", placeholder: "job_…", size: 40, required: true });
    const lookup = h("form", { class: "filters", "aria-label": "Find a jobs API job" }, h("label", { for: "j-api" }, "Jobs API job id", apiId), h("button", { type: "submit" }, "Show job"));
    lookup.addEventListener("submit", (e) => {
      e.preventDefault();
      ui.go(`#/job/${encodeURIComponent(apiId.value.trim())}`);
    });
    const toolbar = h("div", { class: "toolbar" });
    if (params.status === "dead" && params.kind && !params.kind.startsWith(WEBHOOK_KIND)) {
      const all = h("button", { type: "button", class: "danger" }, `Replay all dead ${params.kind} jobs`);
      all.addEventListener("click", () =>
        ui.act(all, `Replay every dead ${params.kind} job?`, "Replay all", async () => {
          const r = await ui.api("POST", "/api/v1/queue/replay", { kind: params.kind });
          return `${r.replayed.length} jobs queued again.`;
        }),
      );
      toolbar.append(all);
    }
    const list = h("div");
    view.append(form, lookup, toolbar, list);
    return async () => {
      const r = await ui.api("GET", `/api/v1/queue/jobs${q({ status: params.status, kind: params.kind, limit: 100 })}`);
      replace(list, r.jobs.length ? table("Queue jobs", ["Id", "Kind", "Status", "Attempts", "When", "Last error", ""], jobRows(ui, r.jobs)) : h("p", {}, "No jobs match."), r.next_before ? h("p", { class: "muted" }, "Showing the newest 100.") : null);
    };
  },
};

async function apiJob(ui, id) {
  const [status, results] = await Promise.all([ui.api("GET", `/api/v1/jobs/${encodeURIComponent(id)}/status`), ui.api("GET", `/api/v1/jobs/${encodeURIComponent(id)}/results?limit=100`)]);
  return [
    h("h2", {}, "Jobs API status"),
    facts([
      ["Job", status.job_id],
      ["Type", status.type],
      ["Status", badge(status.status)],
      ["Items", `${status.completed_lots} completed, ${status.failed_lots} failed of ${status.total_lots}`],
      ["Created", when(status.created_at)],
      ["Finished", status.finished_at ? when(status.finished_at) : null],
      ["Completion webhook", status.webhook_delivery_id ? h("a", { href: `#/delivery/${encodeURIComponent(status.webhook_delivery_id)}` }, status.webhook_delivery_id) : null],
    ]),
    h("h2", {}, "Results"),
    results.results.length
      ? table("Item results", ["#", "Status", "Result", "Error"], results.results.map((r) => [String(r.index), badge(r.status), r.result === null ? "—" : JSON.stringify(r.result), r.error ?? "—"]), [0])
      : h("p", { class: "muted" }, "No results yet."),
    results.next_offset !== null ? h("p", { class: "muted" }, `Showing the first ${results.results.length} of ${results.total}.`) : null,
  ];
}

export const jobPage = {
  title: (p) => `Job ${p.id ?? ""}`,
  nav: "jobs",
  render(view, params, ui) {
    const box = h("div");
    view.append(h("p", {}, h("a", { href: "#/jobs" }, "All jobs")), box);
    return async () => {
      if (/^job_/.test(params.id)) return replace(box, await apiJob(ui, params.id));
      const j = await ui.api("GET", `/api/v1/queue/jobs/${encodeURIComponent(params.id)}`);
      const extra = j.kind === "api.job" && j.payload?.id ? await apiJob(ui, j.payload.id) : [];
      replace(
        box,
        facts([
          ["Kind", j.kind],
          ["Status", badge(j.status)],
          ["Attempts", `${j.attempts} of ${j.max_attempts}`],
          ["Last error", j.last_error],
          ["Run at", when(j.run_at)],
          ["Created", when(j.created_at)],
          ["Finished", j.finished_at ? when(j.finished_at) : null],
        ]),
        h("div", { class: "toolbar" }, replayControl(ui, j)),
        h("h2", {}, "Payload"),
        pre(j.payload),
        h("h2", {}, "Result"),
        j.result === null ? h("p", { class: "muted" }, "none") : pre(j.result),
        extra,
      );
    };
  },
};
