// Subscribers: status, circuit breaker, limits, last error, success rate and latency per subscriber.
import { q } from "./api.js";
import { badge, h, num, pct, replace, table, when } from "./dom.js";

function limits(cfg, st) {
  if (!cfg) return "—";
  // webhooks.subscribers[].max_rate (deliveries per second, 0 = none); health says when it is holding deliveries back.
  const max = st?.max_rate ?? cfg.max_rate ?? 0;
  const rate = max > 0 ? `at most ${max}/s${st?.rate_limited ? " (holding deliveries now)" : ""}` : "no rate limit";
  return `${rate} · ${cfg.concurrency} in flight · ${cfg.timeout_ms} ms timeout · up to ${cfg.retry?.max_attempts} attempts`;
}

export const subscribersPage = {
  title: () => "Subscribers",
  nav: "subscribers",
  render(view, params, ui) {
    const hours = h("select", { id: "sub-hours" }, [["1", "last hour"], ["24", "last 24 hours"], ["168", "last 7 days"]].map(([v, t]) => h("option", { value: v, selected: (params.hours ?? "24") === v }, t)));
    hours.addEventListener("change", () => ui.refresh());
    const box = h("div");
    view.append(h("div", { class: "filters" }, h("label", { for: "sub-hours" }, "Window", hours)), box);
    return async () => {
      const [health, metrics, plugins, config] = await Promise.all([
        ui.api("GET", "/api/v1/webhook-health"),
        ui.api("GET", `/api/v1/webhook-metrics${q({ hours: hours.value })}`),
        ui.api("GET", "/api/v1/plugins"),
        ui.api("GET", "/api/v1/config"),
      ]);
      const cfgOf = new Map((config.webhooks?.subscribers ?? []).map((s) => [s.id, s]));
      const healthOf = new Map(health.subscribers.map((s) => [s.id, s]));
      const inactive = new Map(plugins.inactive.map((p) => [p.id, p]));
      const rows = metrics.subscribers.map((m) => {
        const st = healthOf.get(m.id);
        const off = inactive.get(m.id);
        const status = st ? badge(st.status) : off ? badge(off.disabled_at ? "disabled" : "inactive", off.disabled_at ? "bad" : "") : badge("—", "");
        return [
          h("span", {}, h("strong", {}, m.name), h("br"), h("span", { class: "muted" }, m.id)),
          h("span", {}, status, off ? h("span", { class: "muted" }, " ", off.disabled_reason ?? off.inactive_reason ?? "") : null),
          st ? h("span", {}, badge(st.circuit), ` ${st.consecutive_failures} in a row`) : "—",
          limits(cfgOf.get(m.id), st),
          pct(m.success_rate),
          `${num(m.latency_ms.p50, 1)} / ${num(m.latency_ms.p95, 1)} / ${num(m.latency_ms.p99, 1)}`,
          `${num(m.delivered)} ok, ${num(m.failed)} failed, ${num(m.dead)} dead, ${num(m.pending)} waiting`,
          st?.last_error ? h("span", {}, st.last_error, h("br"), when(st.last_failure_at)) : h("span", { class: "muted" }, "none"),
          h("a", { href: `#/deliveries?subscriber=${encodeURIComponent(m.id)}`, "aria-label": `Deliveries of ${m.name}` }, "Deliveries"),
        ];
      });
      replace(
        box,
        rows.length
          ? table(`Subscribers over the ${metrics.hours} h window`, ["Subscriber", "Status", "Breaker", "Limits", "Success", "Latency p50/p95/p99 ms", "Deliveries", "Last error", ""], rows)
          : h("p", { class: "muted" }, "No subscribers are configured (webhooks.subscribers)."),
        h("p", { class: "muted" }, `Window since `, when(metrics.since), `. Overall: ${pct(metrics.total.success_rate)} success, ${num(metrics.total.attempted)} attempts.`),
      );
    };
  },
};
