// Bridge: each direction's last success and failure, and its dead jobs with replay.
import { badge, h, num, replace, table, when } from "./dom.js";
import { jobRows } from "./jobs.js";

const KIND = "bridge.sync";
const DIRECTIONS = [
  ["zendesk_to_chatwoot", "Zendesk → Chatwoot"],
  ["chatwoot_to_zendesk", "Chatwoot → Zendesk"],
];

export const bridgePage = {
  title: () => "Bridge",
  nav: "bridge",
  render(view, _params, ui) {
    const box = h("div");
    view.append(box);
    return async () => {
      const health = await ui.api("GET", "/health", undefined, { accept: [503] });
      const b = health.bridge;
      if (!b || !b.enabled) return replace(box, h("p", {}, "The Zendesk ↔ Chatwoot bridge is off (", h("code", {}, "bridge.enabled: false"), ")."));
      const [dead, retrying] = await Promise.all([ui.api("GET", `/api/v1/queue/jobs?status=dead&kind=${KIND}&limit=100`), ui.api("GET", `/api/v1/queue/jobs?status=retry&kind=${KIND}&limit=100`)]);
      const cards = DIRECTIONS.map(([key, label]) => {
        const d = b[key] ?? {};
        return h(
          "article",
          { class: "card", "aria-label": label },
          h("h3", {}, label, badge(d.ok === false ? "failing" : "ok")),
          h("p", {}, "Last success: ", when(d.last_success_at)),
          d.last_success ? h("p", { class: "muted" }, d.last_success) : null,
          h("p", {}, "Last failure: ", when(d.last_failure_at)),
          d.last_failure ? h("p", { class: "muted" }, d.last_failure) : null,
        );
      });
      const all = h("button", { type: "button", class: "danger" }, "Replay all dead bridge jobs");
      all.addEventListener("click", () =>
        ui.act(all, `Replay all ${dead.jobs.length} dead bridge jobs?`, "Replay all", async () => {
          const r = await ui.api("POST", "/api/v1/queue/replay", { kind: KIND });
          return `${r.replayed.length} bridge jobs queued again.`;
        }),
      );
      const j = b.jobs ?? {};
      replace(
        box,
        h("div", { class: "cards" }, cards, h("article", { class: "card" }, h("h3", {}, "Bridge jobs"), h("p", {}, `${num(j.queued)} queued, ${num(j.running)} running`), h("p", {}, `${num(j.retry)} retrying, ${num(j.dead)} dead`))),
        h("p", { class: "muted" }, `Chatwoot ${b.chatwoot?.base_url ?? ""} (inbox ${b.chatwoot?.inbox_id ?? "?"}), Zendesk ${b.zendesk?.base_url ?? ""}; day files in ${b.log_dir}.`),
        h("h2", {}, "Dead jobs"),
        dead.jobs.length ? [h("div", { class: "toolbar" }, all), table("Dead bridge jobs", ["Id", "Kind", "Status", "Attempts", "When", "Last error", ""], jobRows(ui, dead.jobs))] : h("p", {}, "No dead bridge jobs."),
        h("h2", {}, "Retrying"),
        retrying.jobs.length ? table("Retrying bridge jobs", ["Id", "Kind", "Status", "Attempts", "Next try", "Last error", ""], jobRows(ui, retrying.jobs)) : h("p", { class: "muted" }, "None."),
      );
    };
  },
};
