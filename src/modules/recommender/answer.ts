import { actionIndex, type ActionType, type TimeContext } from "./actions";
import { CONTENT_MODS } from "./classify";
import { hasStructure, moduleIdx, moduleOf, type Activity, type Course } from "./course";
import type { Lookup } from "./qtable";
import { EXPERTS, type MoveStat, type Ranked } from "./ranking";
import { tupleToState, type Learner } from "./state";

// The GET answer: the ranked activities as the spec's recommendation objects, with the reason
// each one is there, and the stored row's JSON texts.

export interface Recommendation {
  activity_id: number;
  activity_type: string;
  activity_name: string | null;
  action: ActionType;
  time_context: TimeContext;
  q_value: number | null;
  reason: string;
}

export interface RecommendationBody {
  user_id: number;
  course_id: number;
  module_id: number;
  module_scope: "section" | "course";
  module_name: string | null;
  structure: string;
  state: ReturnType<typeof tupleToState>;
  state_tuple: number[];
  recommendations: Recommendation[];
  generated_at: string;
  model_version: string;
  message?: string;
}

export const IMPLICIT_NOTE = "implicit: no course structure known, all activities of the course form one module whose id is the course id";
export const SECTION_NOTE = "course structure: modules are the course's sections (lessons), delegated subsections included";

/** What a learner would do with an activity of this kind. */
export function actionFor(a: Activity, l: Learner): ActionType {
  const m = a.modname ?? "";
  if (m === "quiz") return "attempt_quiz";
  if (m === "assign") return l.seen.has(a.cmid) ? "submit_assignment" : "view_assignment";
  if (m === "forum") return "post_forum";
  return CONTENT_MODS.has(m) ? "view_content" : "view_content";
}

export function timeContext(c: Course, m: number, a: Activity): TimeContext {
  const am = moduleOf(c, a);
  if (am === null || am === m || !hasStructure(c)) return "current";
  return moduleIdx(c, am) < moduleIdx(c, m) ? "past" : "future";
}

const pct = (g: number) => `${Math.round(g * 100)}%`;
const round4 = (x: number) => Math.round(x * 10000) / 10000;

export interface AnswerInput {
  course: Course;
  learner: Learner;
  module: number;
  ranked: Ranked[];
  anchor: Activity | null;
  weights: number[];
  found: Lookup | null;
  state: number[];
  passGrade: number;
  k: number;
  now: number;
  modelVersion: string;
}

export function buildAnswer(x: AnswerInput): RecommendationBody {
  const { course: c, learner: l, module: m, anchor } = x;
  const succ: ReadonlyMap<number, MoveStat> | undefined = anchor ? c.moves.get(anchor.cmid) : undefined;
  let total = 0;
  if (succ) for (const s of succ.values()) total += s.n;
  const anyData = x.ranked.some((r) => r.blend > 0 && (r.parts[0]! > 0 || r.parts[1]! > 0));
  const recs: Recommendation[] = [];
  for (const r of x.ranked.slice(0, x.k)) {
    const a = c.activities.get(r.cmid)!;
    const action = actionFor(a, l);
    const time = timeContext(c, m, a);
    const abstractQ = x.found ? x.found.values[actionIndex(action, time)]! : null;
    const q = r.value ?? abstractQ;
    recs.push({
      activity_id: a.cmid,
      activity_type: a.modname ?? "unknown",
      activity_name: a.name,
      action,
      time_context: time,
      q_value: q === null ? null : round4(q),
      reason: reasonFor(r, a, anchor, succ, total, x, anyData),
    });
  }
  const structured = hasStructure(c);
  return {
    user_id: l.userId,
    course_id: c.id,
    module_id: m,
    module_scope: structured ? "section" : "course",
    module_name: structured ? (c.sectionNames.get(m) ?? null) : null,
    structure: structured ? SECTION_NOTE : IMPLICIT_NOTE,
    state: tupleToState(x.state),
    state_tuple: x.state,
    recommendations: recs,
    generated_at: new Date(x.now).toISOString(),
    model_version: x.modelVersion,
  };
}

function reasonFor(r: Ranked, a: Activity, anchor: Activity | null, succ: ReadonlyMap<number, MoveStat> | undefined, total: number, x: AnswerInput, anyData: boolean): string {
  const l = x.learner;
  const named = (b: Activity) => (b.name ? `"${b.name}"` : `activity ${b.cmid}`);
  if (r.retry) {
    return `Your grade on ${named(a)} (${pct(l.grades.get(a.cmid)!)}) is below the pass grade (${pct(x.passGrade)}): another attempt is worth it before moving on.`;
  }
  const own = l.done.has(a.cmid) ? "you have completed it already" : l.seen.has(a.cmid) ? "you started it but have not completed it" : "you have not done it yet";
  if (!anyData) return `No learning data for this course yet: ${anchor ? `it comes after ${named(anchor)} in the course order` : "early in this module's course order"}; ${own}.`;
  // The signal that contributes most to the blend speaks first.
  let best = 0;
  for (let e = 1; e < EXPERTS.length; e++) if (x.weights[e]! * r.parts[e]! > x.weights[best]! * r.parts[best]!) best = e;
  const s = succ?.get(a.cmid);
  let main = "";
  const saidOwn = false;
  switch (EXPERTS[best]) {
    case "sequence":
    case "sequence_backoff":
    case "recent_sequence":
    case "personal_sequence":
      main = s && s.n > 0 ? `After ${named(anchor!)}, ${s.n} of the ${total} moves learners made went here next${EXPERTS[best] === "recent_sequence" ? ", the latest of them too" : ""}` : `One of the course's most used activities (${a.uses} learning actions)`;
      break;
    case "popularity":
      main = `One of the course's most used activities (${a.uses} learning actions)`;
      break;
    case "course_order":
      main = anchor ? `It comes ${r.parts[2] === 1 ? "right " : ""}after ${named(anchor)} in the course order` : "It comes early in this module's course order";
      break;
  }
  let value = "";
  if (r.valueShift !== 0 && s && anchor) {
    // The outcome of this move against the most common other move from the same activity, in one
    // measure (grades where both have them, else the mean reward); said only when they differ.
    const other = [...(succ ?? [])].filter(([to, o]) => to !== a.cmid && o.n > 0).sort(([, p], [, q]) => q.n - p.n)[0];
    const grades = s.gn > 0 && (!other || other[1].gn > 0);
    const measure = (o: { gsum: number; gn: number; ret: number; n: number }) => (grades ? pct(o.gsum / o.gn) : String(round4(o.ret / o.n)));
    const here = measure(s);
    const there = other ? measure(other[1]) : null;
    if (there !== here) {
      const after = grades ? `scored ${here} on average afterwards` : `collected a mean reward of ${here} afterwards`;
      const cmp = other ? ` (vs ${there} after going to ${named(x.course.activities.get(other[0]) ?? ({ cmid: other[0], name: null } as Activity))})` : "";
      value = `; ranked ${r.valueShift > 0 ? "up" : "down"} for its outcome: learners who went here from ${named(anchor)} ${after}${cmp}`;
    }
  }
  return saidOwn ? `${main}${value}.` : `${main}${value}; ${own}.`;
}

/**
 * The stored row's two texts: exactly JSON.stringify(full) and JSON.stringify({ ...full,
 * recommendations: first k }), with each part serialised once (the recommendations are
 * shared by both; the long constant notes are serialised once per process).
 */
export function bodyJson(full: RecommendationBody, k: number): { body: string; full: string } {
  const st = full.state;
  // Key order as buildAnswer() builds the object; numbers as JSON.stringify writes them.
  const pre =
    `{"user_id":${jnum(full.user_id)},"course_id":${jnum(full.course_id)},"module_id":${jnum(full.module_id)},"module_scope":${JSON.stringify(full.module_scope)}` +
    `,"module_name":${JSON.stringify(full.module_name)},"structure":${full.structure === SECTION_NOTE ? SECTION_NOTE_JSON : full.structure === IMPLICIT_NOTE ? IMPLICIT_NOTE_JSON : JSON.stringify(full.structure)}` +
    `,"state":{"level":${jnum(st.level)},"module_idx":${jnum(st.module_idx)},"progress":${jnum(st.progress)},"score":${jnum(st.score)},"phase":${jnum(st.phase)},"engagement":${jnum(st.engagement)}}` +
    `,"state_tuple":${JSON.stringify(full.state_tuple)},"recommendations":`;
  let tail = `,"generated_at":${JSON.stringify(full.generated_at)},"model_version":${JSON.stringify(full.model_version)}`;
  if (full.message !== undefined) tail += `,"message":${JSON.stringify(full.message)}`;
  tail += "}";
  const recs = full.recommendations;
  if (recs.length <= k) {
    const text = pre + JSON.stringify(recs) + tail;
    return { body: text, full: text };
  }
  // The first k are serialised once and shared: full = [first k] joined with [the rest].
  const first = JSON.stringify(recs.slice(0, k));
  const rest = JSON.stringify(recs.slice(k));
  return { body: pre + first + tail, full: pre + (k > 0 ? first.slice(0, -1) + "," + rest.slice(1) : rest) + tail };
}

const SECTION_NOTE_JSON = JSON.stringify(SECTION_NOTE);
const IMPLICIT_NOTE_JSON = JSON.stringify(IMPLICIT_NOTE);
const jnum = (n: number): string => (Number.isFinite(n) ? String(n) : "null");
