// Deliveries: filter by subscriber, status and time; retry one or the failed ones of the window;
// a delivery's attempts with their captured responses.
import { q } from "./api.js";
import { badge, facts, h, num, pre, replace, table, when } from "./dom.js";

const STATUSES = ["", "pending", "retrying", "delivered", "failed", "dead"];
const RETRYABLE = new Set(["failed", "dead"]);

/** "2026-12-01T09:00" (local, from <input type=datetime-local>) → ISO with offset, or undefined. */
function isoFromLocal(v) {
  return v ? new Date(v).toISOString() : undefined;
}
function localFromIso(v) {
  if (!v) return "";
  const d = new Date(v);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function retryOne(ui, id, button) {
  return ui.act(button, `Send delivery ${id} again? It gets a fresh attempt budget.`, "Retry delivery", async () => {
    await ui.api("POST", `/api/v1/deliveries/${encodeURIComponent(id)}/retry`);
    return `Delivery ${id} queued for retry.`;
  });
}

export const deliveriesPage = {
  title: () => "Deliveries",
  nav: "deliveries",
  render(view, params, ui) {
    const sub = h("select", { id: "f-subscriber" }, h("option", { value: "" }, "all subscribers"));
    const status = h("select", { id: "f-status" }, STATUSES.map((s) => h("option", { value: s, selected: (params.status ?? "") === s }, s || "any status")));
    const since = h("input", { id: "f-since", type: "datetime-local", value: localFromIso(params.since) });
    const until = h("input", { id: "f-until", type: "datetime-local", value: localFromIso(params.until) });
    const form = h(
      "form",
      { class: "filters", "aria-label": "Filter deliveries" },
      h("label", { for: "f-subscriber" }, "Subscriber", sub),
      h("label", { for: "f-status" }, "Status", status),
      h("label", { for: "f-since" }, "Changed after (default: 24 h ago)", since),
      h("label", { for: "f-until" }, "Changed before (default: now)", until),
      h("button", { type: "submit", class: "primary" }, "Apply filters"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      ui.go(`#/deliveries${q({ subscriber: sub.value, status: status.value, since: isoFromLocal(since.value), until: isoFromLocal(until.value) })}`);
    });
    const bulk = h("button", { type: "button", class: "danger" }, "Retry failed deliveries in this window");
    const toolbar = h("div", { class: "toolbar" }, bulk);
    const list = h("div");
    view.append(form, toolbar, list);
    let before = null;
    const older = h("button", { type: "button" }, "Older deliveries");
    older.addEventListener("click", () => {
      before = older.dataset.next;
      void ui.refresh();
    });
    const windowOf = () => ({ subscriber_id: params.subscriber || undefined, since: params.since, until: params.until });
    bulk.addEventListener("click", () => {
      const w = windowOf();
      const which = RETRYABLE.has(params.status) ? [params.status] : ["failed", "dead"];
      const scope = `${w.subscriber_id ? `of ${w.subscriber_id} ` : ""}${w.since ? `changed after ${new Date(w.since).toLocaleString()}` : "of the last 24 hours"}${w.until ? ` and before ${new Date(w.until).toLocaleString()}` : ""}`;
      return ui.act(bulk, `Retry every ${which.join(" or ")} delivery ${scope}?`, "Retry all", async () => {
        const r = await ui.api("POST", "/api/v1/webhook-failures/retry", { ...w, status: which });
        return `${r.replayed} ${r.replayed === 1 ? "delivery" : "deliveries"} queued for retry${r.skipped.length ? `, ${r.skipped.length} skipped` : ""}.`;
      });
    });
    let loadedSubs = false;
    return async () => {
      if (!loadedSubs) {
        const p = await ui.api("GET", "/api/v1/plugins");
        const ids = [...p.plugins, ...p.inactive].map((x) => x.id);
        if (params.subscriber && !ids.includes(params.subscriber)) ids.push(params.subscriber);
        for (const id of ["_jobs", ...ids.filter((x) => x !== "_jobs")]) sub.append(h("option", { value: id, selected: params.subscriber === id }, id === "_jobs" ? "_jobs (jobs API completion webhooks)" : id));
        loadedSubs = true;
      }
      const r = await ui.api("GET", `/api/v1/console/deliveries${q({ subscriber_id: params.subscriber, status: params.status, since: params.since, until: params.until, before, limit: 50 })}`);
      const rows = r.deliveries.map((d) => {
        const actions = [];
        if (RETRYABLE.has(d.status)) {
          const b = h("button", { type: "button", "aria-label": `Retry delivery ${d.id}`, "data-key": `r-${d.id}` }, "Retry");
          b.addEventListener("click", () => retryOne(ui, d.id, b));
          actions.push(b);
        }
        const link = h("a", { href: `#/delivery/${encodeURIComponent(d.id)}`, "aria-label": `Details of delivery ${d.id}`, "data-key": `d-${d.id}` }, d.id);
        return [when(d.updated_at), link, d.subscriber_id, h("span", {}, d.event_name, h("br"), h("span", { class: "muted" }, d.event_id ?? "")), badge(d.status), `${d.attempts}/${d.max_attempts}`, d.last_error ?? (d.last_status ? `HTTP ${d.last_status}` : "—"), h("span", {}, actions)];
      });
      older.dataset.next = r.next_before ?? "";
      replace(
        list,
        h("p", { class: "muted" }, `${r.count} ${r.count === 1 ? "delivery" : "deliveries"} changed between `, when(r.since), " and ", when(r.until), before ? " (older page)" : "", "."),
        rows.length ? table("Deliveries", ["Changed", "Delivery", "Subscriber", "Event", "Status", "Attempts", "Last error", ""], rows) : h("p", {}, "No deliveries match."),
        r.next_before ? older : null,
      );
    };
  },
};

export const deliveryPage = {
  title: (p) => `Delivery ${p.id ?? ""}`,
  nav: "deliveries",
  render(view, params, ui) {
    const box = h("div");
    view.append(h("p", {}, h("a", { href: "#/deliveries" }, "All deliveries")), box);
    return async () => {
      const d = await ui.api("GET", `/api/v1/deliveries/${encodeURIComponent(params.id)}`);
      let retry = null;
      if (RETRYABLE.has(d.status)) {
        retry = h("button", { type: "button", class: "danger", "data-key": "retry" }, "Retry this delivery");
        retry.addEventListener("click", () => retryOne(ui, d.id, retry));
      }
      const attempts = d.attempts.map((a) => [
        String(a.attempt),
        when(a.started_at),
        num(a.duration_ms, 1),
        a.status_code === null ? "—" : String(a.status_code),
        badge(a.outcome),
        a.error ?? "—",
        a.response ? h("details", { "data-key": `resp-${a.attempt}` }, h("summary", { "data-key": `resp-s-${a.attempt}` }, `Response (${a.response.length} chars)`), pre(a.response)) : h("span", { class: "muted" }, "none"),
      ]);
      replace(
        box,
        facts([
          ["Status", badge(d.status)],
          ["Subscriber", h("a", { href: `#/deliveries?subscriber=${encodeURIComponent(d.subscriber_id)}` }, d.subscriber_id)],
          ["Event", `${d.event_name} (${d.event_id ?? "no event id"})`],
          ["Target", d.url],
          ["Attempts", `${d.attempt_count} of ${d.max_attempts}`],
          ["Last error", d.last_error],
          ["Next attempt", d.next_attempt_at ? when(d.next_attempt_at) : null],
          ["Created", when(d.created_at)],
          ["Finished", d.finished_at ? when(d.finished_at) : null],
        ]),
        h("div", { class: "toolbar" }, retry),
        h("h2", {}, "Attempts"),
        attempts.length ? table("Attempts", ["#", "Started", "Duration ms", "HTTP", "Outcome", "Error", "Captured response"], attempts, [0, 2]) : h("p", { class: "muted" }, "No attempt yet."),
        h("h2", {}, "Payload"),
        h("details", { "data-key": "payload" }, h("summary", { "data-key": "payload-s" }, "Body sent"), pre(d.payload)),
      );
    };
  },
};
