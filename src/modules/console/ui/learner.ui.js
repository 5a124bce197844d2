// Learners: one learner's recommendations for each lesson (module) with the reason for each.
import { q } from "./api.js";
import { h, num, replace, table, when } from "./dom.js";

function stateText(s) {
  if (!s) return "no state yet";
  return Object.entries(s).map(([k, v]) => `${k.replace("_", " ")} ${v}`).join(", ");
}

function lesson(m) {
  const name = m.module_name ? `${m.module_name} (module ${m.module_id})` : `module ${m.module_id}`;
  const recs = m.recommendations ?? [];
  return h(
    "section",
    { class: "module", "aria-label": `Course ${m.course_id}, ${name}` },
    h("h3", {}, `Course ${m.course_id} · ${name}`),
    h("p", { class: "muted" }, `State: ${stateText(m.state)}. Generated `, when(m.generated_at), m.model_version ? ` by model ${m.model_version}` : "", "."),
    recs.length
      ? table(`Recommendations for ${name}`, ["#", "Activity", "Action", "Q", "Reason"], recs.map((r, i) => [String(i + 1), h("span", {}, r.activity_name ?? `activity ${r.activity_id}`, h("br"), h("span", { class: "muted" }, `${r.activity_type} ${r.activity_id}`)), `${r.action} (${r.time_context})`, r.q_value === null ? "—" : num(r.q_value, 4), r.reason]), [0, 3])
      : h("p", {}, m.message ?? "No recommendations."),
  );
}

export const learnerPage = {
  title: () => "Learners",
  nav: "learner",
  live: false,
  render(view, params, ui) {
    const user = h("input", { id: "l-user", inputmode: "numeric", pattern: "[0-9]+", required: true, value: params.user ?? "", size: 10 });
    const course = h("input", { id: "l-course", inputmode: "numeric", pattern: "[0-9]*", value: params.course ?? "", size: 10 });
    const form = h(
      "form",
      { class: "filters", "aria-label": "Find a learner" },
      h("label", { for: "l-user" }, "Learner (Moodle user id)", user),
      h("label", { for: "l-course" }, "Course id (optional)", course),
      h("button", { type: "submit", class: "primary" }, "Show recommendations"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      ui.go(`#/learner${q({ user: user.value.trim(), course: course.value.trim() })}`);
    });
    const box = h("div");
    view.append(form, box);
    return async () => {
      if (!params.user) return replace(box, h("p", { class: "muted" }, "Enter a learner's Moodle user id to see what ferry recommends in each lesson, and why."));
      const r = await ui.api("GET", `/api/v1/recommendations/${encodeURIComponent(params.user)}${q({ course_id: params.course })}`);
      replace(box, r.modules.length ? [h("p", {}, `${r.modules.length} lessons with recommendations for learner ${r.user_id}.`), r.modules.map(lesson)] : h("p", {}, r.message ?? "No recommendations."));
    };
  },
};
