import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFerry, waitFor, type TestFerry } from "../helpers/ferry";
import { API_TOKEN, BASE_CONFIG, MOODLE_TOKEN } from "../moodle/fixtures";
import { graded, structure, visit, type SynthActivity } from "./synthetic";

// Synthetic courses through the real webhook, pipeline and GET route: the sequence decides
// where learners go, and long-term value (the configured reward) re-ranks the plausible steps.

let f: TestFerry;
beforeAll(async () => {
  f = await startFerry(BASE_CONFIG);
});
afterAll(() => f.stop());

const count = (sql: string) => (f.daemon.store.db.prepare(sql).pluck().get() as number) ?? 0;
const drained = () => waitFor(() => count("SELECT count(*) FROM log_events WHERE processed = 0") === 0, 15_000, "pipeline drained");
async function send(logs: unknown[]): Promise<void> {
  for (let i = 0; i < logs.length; i += 50) {
    const r = await f.request("POST", "/webhook/moodle-events", { body: { logs: logs.slice(i, i + 50) }, headers: { "x-moodle-token": MOODLE_TOKEN } });
    expect(r.status).toBe(202);
  }
  await drained();
}
async function recs(user: number, module: number, course: number): Promise<any> {
  const r = await f.request("GET", `/api/recommendations/${user}/${module}?course_id=${course}`, { headers: { "x-moodle-token": MOODLE_TOKEN } });
  expect(r.status).toBe(200);
  return r.json();
}

/** Lesson: X (a page), then A or B (quizzes), then F (the lesson's final quiz). */
function course(id: number) {
  const X: SynthActivity = { cmid: id * 10 + 1, modname: "page", name: "X intro" };
  const A: SynthActivity = { cmid: id * 10 + 2, modname: "quiz", name: "A drill" };
  const B: SynthActivity = { cmid: id * 10 + 3, modname: "quiz", name: "B worked examples" };
  const F: SynthActivity = { cmid: id * 10 + 4, modname: "quiz", name: "F final" };
  return { X, A, B, F, lesson: id * 100 + 1, body: structure(id, [[X, A, B, F]]) };
}

/**
 * Learners 1..n: X, then A (most of them) or B, then F graded by the path taken. The order
 * interleaves the two paths and ends with A learners, so neither the last moves nor the counts
 * point at B.
 */
function cohort(id: number, c: ReturnType<typeof course>, paths: Array<"A" | "B">, grade: (p: "A" | "B") => number | null) {
  const logs: unknown[] = [];
  let t = 1_765_000_000;
  paths.forEach((p, i) => {
    const u = 100 + i;
    logs.push(visit(id, u, c.X, (t += 60)));
    logs.push(visit(id, u, p === "A" ? c.A : c.B, (t += 60)));
    logs.push(visit(id, u, c.F, (t += 60)));
    const g = grade(p);
    if (g !== null) logs.push(graded(id, u, c.F, g, (t += 30)));
  });
  return { logs, t };
}

const PATHS: Array<"A" | "B"> = ["A", "B", "A", "A", "B", "A", "B", "A", "B", "A", "A", "B", "A", "A"];

describe("next activity on synthetic courses (webhook → pipeline → GET)", () => {
  test("X → B learners later score much higher than X → A learners: after X, top-1 becomes B, and the reason gives the grades", async () => {
    const c = course(71);
    expect((await f.request("POST", "/api/v1/courses/71/structure", { body: c.body, token: API_TOKEN })).status).toBe(200);
    const { logs, t } = cohort(71, c, PATHS, (p) => (p === "A" ? 3 : 9.5));
    await send(logs);
    // A is the more common next step after X ...
    expect(PATHS.filter((p) => p === "A").length).toBeGreaterThan(PATHS.filter((p) => p === "B").length);
    // ... but a new learner who has just done X is sent to B.
    await send([visit(71, 900, c.X, t + 60)]);
    const body = await recs(900, c.lesson, 71);
    expect(body.recommendations[0].activity_id).toBe(c.B.cmid);
    expect(body.recommendations[0].reason).toContain("95%");
    expect(body.recommendations[0].reason).toContain("30%");
    expect(body.recommendations[0].reason).toContain("ranked up for its outcome");
    expect(body.recommendations.map((r: any) => r.activity_id)).not.toContain(c.X.cmid);
  });

  test("no reward evidence separating the paths: after X, top-1 is the common next step", async () => {
    const c = course(72);
    expect((await f.request("POST", "/api/v1/courses/72/structure", { body: c.body, token: API_TOKEN })).status).toBe(200);
    // The same paths, the same grade on F for everyone.
    const { logs, t } = cohort(72, c, PATHS, () => 8);
    await send(logs);
    await send([visit(72, 900, c.X, t + 60)]);
    const body = await recs(900, c.lesson, 72);
    expect(body.recommendations[0].activity_id).toBe(c.A.cmid);
    expect(body.recommendations[0].reason).not.toContain("ranked up for its outcome");
    // Without any grades at all, the same.
    const c3 = course(73);
    expect((await f.request("POST", "/api/v1/courses/73/structure", { body: c3.body, token: API_TOKEN })).status).toBe(200);
    const r3 = cohort(73, c3, PATHS, () => null);
    await send(r3.logs);
    await send([visit(73, 900, c3.X, r3.t + 60)]);
    expect((await recs(900, c3.lesson, 73)).recommendations[0].activity_id).toBe(c3.A.cmid);
  });

  test("never the activity just finished as top-1; a failed quiz is offered again (second), saying why", async () => {
    const c = course(74);
    expect((await f.request("POST", "/api/v1/courses/74/structure", { body: c.body, token: API_TOKEN })).status).toBe(200);
    const { logs, t } = cohort(74, c, PATHS, () => 8);
    await send(logs);
    // Every activity of the lesson, just done: the answer for the lesson never leads with it.
    let time = t;
    for (const a of [c.X, c.A, c.B, c.F]) {
      await send([visit(74, 901, a, (time += 60))]);
      const body = await recs(901, c.lesson, 74);
      expect(body.recommendations.length).toBeGreaterThan(0);
      expect(body.recommendations[0].activity_id).not.toBe(a.cmid);
    }
    // A failing grade on F (the activity just done): a retry is justified and says so.
    await send([graded(74, 901, c.F, 2, (time += 30))]);
    const body = await recs(901, c.lesson, 74);
    expect(body.recommendations[0].activity_id).not.toBe(c.F.cmid);
    const retry = body.recommendations.find((r: any) => r.activity_id === c.F.cmid);
    expect(retry).toBeTruthy();
    expect(body.recommendations.indexOf(retry)).toBe(1);
    expect(retry.reason).toContain("below the pass grade");
    expect(retry.reason).toContain("20%");
    // A passing grade: no retry offered ahead of the rest.
    await send([graded(74, 901, c.F, 9, (time += 30))]);
    const after = await recs(901, c.lesson, 74);
    expect(after.recommendations.slice(0, 2).map((r: any) => r.activity_id)).not.toContain(c.F.cmid);
  });

  test("staff: whoever grades or enrols someone else; a student viewing another's profile stays a learner", async () => {
    const c = course(75);
    expect((await f.request("POST", "/api/v1/courses/75/structure", { body: c.body, token: API_TOKEN })).status).toBe(200);
    const { logs, t } = cohort(75, c, ["A", "B", "A"], () => 8);
    await send(logs);
    const profile = { ...visit(75, 101, c.X, t + 10), eventname: "\\core\\event\\user_profile_viewed", component: "core", edulevel: "0", contextlevel: "50", contextinstanceid: "75", relateduserid: "102" };
    const grading = { ...graded(75, 100, c.F, 9, t + 20), userid: "950" };
    await send([profile, grading, visit(75, 950, c.X, t + 30), visit(75, 101, c.A, t + 40)]);
    expect((await recs(101, c.lesson, 75)).recommendations.length).toBeGreaterThan(0);
    expect(count("SELECT count(*) FROM course_staff WHERE course_id = 75 AND user_id = 101")).toBe(0);
    expect(count("SELECT count(*) FROM course_staff WHERE course_id = 75 AND user_id = 950")).toBe(1);
    expect((await recs(950, c.lesson, 75)).message).toBe("No recommendations available yet");
  });
});
