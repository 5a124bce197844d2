// Event classification by Moodle's full event name (the original service read the short
// `action` first and so saw almost everything as "viewed"). Component/target/action are only a
// fallback for logs without an eventname (normalize.ts synthesises one from them).

export type EventClass =
  | "view_content"
  | "view_assignment"
  | "submit_assignment"
  | "attempt_quiz"
  | "submit_quiz"
  | "review_quiz"
  | "post_forum"
  | "view_forum"
  | "grade"
  | "completion"
  | "role_assigned"
  | "role_unassigned"
  | "grade_item"
  | "user_deleted"
  | "enrolment_deleted"
  | "enrolment_created"
  | "other";

/** Learning action classes (the rest are outcomes or bookkeeping). */
export const LEARNING: ReadonlySet<EventClass> = new Set([
  "view_content",
  "view_assignment",
  "submit_assignment",
  "attempt_quiz",
  "submit_quiz",
  "review_quiz",
  "post_forum",
  "view_forum",
]);

/** Modules whose view is "content" (course_module_viewed of these → view_content). */
export const CONTENT_MODS: ReadonlySet<string> = new Set([
  "page", "resource", "url", "book", "hvp", "h5pactivity", "lesson", "folder", "lti", "scorm", "imscp", "glossary", "wiki", "data", "label", "workshop", "choice", "feedback", "survey", "chat",
]);

const cache = new Map<string, EventClass>();

/** `\mod_quiz\event\attempt_submitted` → submit_quiz. */
export function classify(eventname: string): EventClass {
  let c = cache.get(eventname);
  if (c === undefined) {
    c = classifyUncached(eventname);
    if (cache.size < 10_000) cache.set(eventname, c);
  }
  return c;
}

function classifyUncached(eventname: string): EventClass {
  const m = /^\\?([a-z0-9_]+)\\event\\([a-z0-9_]+)$/i.exec(eventname.trim());
  if (!m) return "other";
  const component = m[1]!.toLowerCase();
  const name = m[2]!.toLowerCase();
  if (component === "core") {
    if (name === "user_graded" || name === "grade_updated") return "grade";
    if (name === "course_module_completion_updated") return "completion";
    if (name === "role_assigned") return "role_assigned";
    if (name === "role_unassigned") return "role_unassigned";
    if (name === "grade_item_created" || name === "grade_item_updated") return "grade_item";
    if (name === "user_deleted") return "user_deleted";
    if (name === "user_enrolment_deleted") return "enrolment_deleted";
    if (name === "user_enrolment_created") return "enrolment_created";
    return "other";
  }
  if (component === "mod_quiz") {
    if (name === "attempt_started" || name === "attempt_viewed" || name === "attempt_updated" || name === "attempt_autosaved" || name === "attempt_summary_viewed") return "attempt_quiz";
    if (name === "attempt_submitted") return "submit_quiz";
    if (name === "attempt_reviewed") return "review_quiz";
    return "other"; // course_module_viewed (intro page), previews, reports, attempt_graded (no grade value)
  }
  if (component === "mod_assign") {
    if (name === "assessable_submitted" || name === "submission_created" || name === "submission_updated") return "submit_assignment";
    if (name === "course_module_viewed" || name === "submission_status_viewed" || name === "submission_form_viewed") return "view_assignment";
    return "other";
  }
  if (component.startsWith("assignsubmission_")) {
    if (name === "submission_created" || name === "submission_updated" || name === "assessable_uploaded") return "submit_assignment";
    return "other";
  }
  if (component === "mod_forum") {
    if (name === "post_created" || name === "discussion_created" || name === "assessable_uploaded") return "post_forum";
    if (name === "course_module_viewed" || name === "discussion_viewed") return "view_forum";
    return "other";
  }
  if (component.startsWith("mod_") && name === "course_module_viewed") {
    return CONTENT_MODS.has(component.slice(4)) ? "view_content" : "other";
  }
  if (component === "mod_book" && name === "chapter_viewed") return "view_content";
  if (component === "mod_lesson" && (name === "content_page_viewed" || name === "lesson_started")) return "view_content";
  return "other";
}
