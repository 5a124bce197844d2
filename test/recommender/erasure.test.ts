import { afterAll, beforeAll, expect, test } from "bun:test";
import { startFerry, waitFor, type TestFerry } from "../helpers/ferry";
import { API_TOKEN, BASE_CONFIG, MOODLE_TOKEN } from "../moodle/fixtures";
import { graded, structure, visit, type SynthActivity } from "./synthetic";

// Deletion requests from Moodle through POST /webhook/moodle-events (README, "How deletion
// requests are honoured"): \core\event\user_deleted and \core\event\user_enrolment_deleted.

let f: TestFerry;
beforeAll(async () => {
  f = await startFerry(BASE_CONFIG);
});
afterAll(() => f.stop());

const count = (sql: string, ...args: unknown[]) => (f.daemon.store.db.prepare(sql).pluck().get(...args) as number) ?? 0;
const drained = () => waitFor(() => count("SELECT count(*) FROM log_events WHERE processed = 0") === 0, 15_000, "pipeline drained");
const post = async (logs: unknown[]) => {
  const r = await f.request("POST", "/webhook/moodle-events", { body: { logs }, headers: { "x-moodle-token": MOODLE_TOKEN } });
  expect(r.status).toBe(202);
  await drained();
};
const get = async (user: number, module: number) => (await f.request("GET", `/api/recommendations/${user}/${module}?course_id=81`, { token: MOODLE_TOKEN })).json() as Promise<any>;

const acts: SynthActivity[] = [
  { cmid: 811, modname: "page", name: "Intro" },
  { cmid: 812, modname: "quiz", name: "Quiz 1" },
  { cmid: 813, modname: "quiz", name: "Quiz 2" },
];
const LESSON = 8101;
let t = 1_768_000_000;
const work = (u: number) => [visit(81, u, acts[0]!, (t += 60)), visit(81, u, acts[1]!, (t += 60)), graded(81, u, acts[1]!, 7, (t += 10)), visit(81, u, acts[2]!, (t += 60))];
const moodleEvent = (eventname: string, fields: Record<string, string | null>) => ({
  eventname, component: "core", action: "deleted", target: "user", crud: "d", edulevel: "0", contextlevel: "10", contextinstanceid: "0",
  userid: "2", courseid: "0", timecreated: String((t += 60)), objectid: null, relateduserid: null, other: null, ...fields,
});

test("user_deleted: the learner's state, history, answers and stored logs go; the Q-tables keep only aggregates", async () => {
  expect((await f.request("POST", "/api/v1/courses/81/structure", { body: structure(81, [acts]), token: API_TOKEN })).status).toBe(200);
  expect((await f.request("POST", "/api/v1/events/moodle/user_created", { body: { eventname: "\\core\\event\\user_created", userid: 301, username: "s301", email: "s301@example.org" }, token: MOODLE_TOKEN })).status).toBe(200);
  await post([...work(301), ...work(302), ...work(303)]);
  expect((await get(301, LESSON)).recommendations.length).toBeGreaterThan(0);
  const updates = ((await (await f.request("GET", "/api/v1/recommender/qtable?course_id=81", { token: API_TOKEN })).json()) as any).updates;
  expect(count("SELECT count(*) FROM state_history WHERE user_id = 301")).toBeGreaterThan(0);

  // The form Moodle's event has: objectid = relateduserid = the deleted user, system context.
  await post([moodleEvent("\\core\\event\\user_deleted", { objectid: "301", relateduserid: "301", other: JSON.stringify({ username: "s301" }) })]);
  const body = await get(301, LESSON);
  expect(body).toMatchObject({ recommendations: [], state: null, message: "No recommendations available yet" });
  for (const [table, col] of [["learners", "user_id"], ["user_states", "user_id"], ["recommendations", "user_id"], ["state_history", "user_id"], ["moodle_users", "user_id"]]) {
    expect(count(`SELECT count(*) FROM ${table} WHERE ${col} = 301`)).toBe(0);
  }
  expect(count("SELECT count(*) FROM log_events WHERE userid = 301 OR relateduserid = 301 OR raw LIKE '%s301%'")).toBe(0);
  // What 301 taught stays as anonymous aggregates: the transitions (no user, event or time) and the Q-table.
  expect(count("SELECT count(*) FROM state_history WHERE user_id = 0 AND event_id = 0 AND event_time = 0")).toBeGreaterThan(0);
  const q = (await (await f.request("GET", "/api/v1/recommender/qtable?course_id=81", { token: API_TOKEN })).json()) as any;
  expect(q.updates).toBe(updates);
  // Other learners are untouched.
  expect((await get(302, LESSON)).recommendations.length).toBeGreaterThan(0);

  // The form with objectid only (relateduserid absent): the user is the objectid.
  await post([moodleEvent("\\core\\event\\user_deleted", { objectid: "303" })]);
  expect((await get(303, LESSON)).message).toBe("No recommendations available yet");
  expect(count("SELECT count(*) FROM learners WHERE user_id = 303")).toBe(0);
});

test("user_enrolment_deleted: the learner's answers in that course end and they are not trained on until re-enrolled", async () => {
  expect((await get(302, LESSON)).recommendations.length).toBeGreaterThan(0);
  const unenrol = moodleEvent("\\core\\event\\user_enrolment_deleted", { target: "user_enrolment", objecttable: "user_enrolments", objectid: "77", relateduserid: "302", courseid: "81", contextlevel: "50", contextinstanceid: "81" });
  await post([unenrol]);
  expect(await get(302, LESSON)).toMatchObject({ recommendations: [], state: null, message: "No recommendations available yet" });
  // Still active in Moodle's logs: stored, but not trained on and no answers.
  const history = count("SELECT count(*) FROM state_history WHERE user_id = 302");
  await post(work(302));
  expect(count("SELECT count(*) FROM state_history WHERE user_id = 302")).toBe(history);
  expect((await get(302, LESSON)).message).toBe("No recommendations available yet");
  // Enrolled again: trained on and answered again.
  await post([moodleEvent("\\core\\event\\user_enrolment_created", { action: "created", target: "user_enrolment", objectid: "78", relateduserid: "302", courseid: "81", contextlevel: "50", contextinstanceid: "81" })]);
  await post(work(302));
  expect(count("SELECT count(*) FROM state_history WHERE user_id = 302")).toBeGreaterThan(history);
  expect((await get(302, LESSON)).recommendations.length).toBeGreaterThan(0);
});
