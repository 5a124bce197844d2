import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFerry, waitFor, type TestFerry } from "../helpers/ferry";
import { API_TOKEN, BASE_CONFIG, chunks, course2Logs, MOODLE_TOKEN, observerPayloads, structure2 } from "./fixtures";

let f: TestFerry;
beforeAll(async () => {
  f = await startFerry({ ...BASE_CONFIG, server: { body_limit: "256kb" } });
});
afterAll(() => f.stop());

const post = (body: unknown, headers: Record<string, string> = { "x-moodle-token": MOODLE_TOKEN }) => f.request("POST", "/webhook/moodle-events", { body, headers });
const count = (sql: string, ...args: unknown[]) => (f.daemon.store.db.prepare(sql).pluck().get(...args) as number) ?? 0;
const drained = () => waitFor(() => count("SELECT count(*) FROM log_events WHERE processed = 0") === 0, 15_000, "pipeline to drain");

describe("POST /webhook/moodle-events", () => {
  test("every one of the 277 real observer payloads is accepted (202) and stored", async () => {
    const payloads = observerPayloads();
    expect(payloads.length).toBe(277);
    let logs = 0;
    for (const p of payloads) {
      const r = await post(p);
      expect(r.status).toBe(202);
      const body = (await r.json()) as any;
      expect(body.status).toBe("accepted");
      expect(body.event_id).toBe(p.event_id);
      expect(body.events_received).toBe(p.logs.length);
      logs += p.logs.length;
    }
    expect(count("SELECT count(*) FROM moodle_batches")).toBe(277);
    // A few logs of the fixture are repeated within it (same user/event/second): those count as duplicates.
    expect(count("SELECT count(*) FROM log_events")).toBeGreaterThan(logs * 0.9);
    await drained();
    // Guests (userid 0 / -1) are stored but never get states.
    expect(count("SELECT count(*) FROM log_events WHERE userid <= 0")).toBeGreaterThan(0);
    expect(count("SELECT count(*) FROM user_states WHERE user_id <= 0")).toBe(0);
  });

  test("a repeated event_id and repeated logs are duplicates, not processed again", async () => {
    const p = observerPayloads()[5];
    const before = count("SELECT count(*) FROM log_events");
    const hist = count("SELECT count(*) FROM state_history");
    const r = await post(p);
    expect(r.status).toBe(202);
    expect(((await r.json()) as any).duplicates).toBe(p.logs.length);
    // Same logs under a new event_id: each log is recognised by its hash.
    const r2 = await post({ ...p, event_id: "moodle_event_new_id" });
    expect(((await r2.json()) as any).duplicates).toBe(p.logs.length);
    await drained();
    expect(count("SELECT count(*) FROM log_events")).toBe(before);
    expect(count("SELECT count(*) FROM state_history")).toBe(hist);
  });

  test("auth: missing or wrong token is 401; X-Moodle-Token and Bearer both work", async () => {
    const p = { logs: [{ userid: 1, courseid: 9, eventname: "\\core\\event\\course_viewed", timecreated: 1761000000 }] };
    expect((await post(p, {})).status).toBe(401);
    expect((await post(p, { "x-moodle-token": "wrong" })).status).toBe(401);
    expect((await post(p, { authorization: `Bearer ${API_TOKEN}` })).status).toBe(401);
    expect((await post(p, { authorization: `Bearer ${MOODLE_TOKEN}` })).status).toBe(202);
  });

  test("bad input: 400 empty, 422 with the field path, 413 too big, 415 not JSON", async () => {
    let r = await post({ logs: [] });
    expect(r.status).toBe(400);
    expect(((await r.json()) as any).error.message).toBe("No logs provided");
    const good = { userid: "5", courseid: "5", eventname: "\\core\\event\\course_viewed", timecreated: 1763794641 };
    r = await post({ logs: [good, good, good, { ...good, timecreated: "yesterday" }] });
    expect(r.status).toBe(422);
    const err = ((await r.json()) as any).error;
    expect(err.message).toContain("logs[3].timecreated");
    expect(err.details[0].path).toBe("logs[3].timecreated");
    r = await post({ logs: [{ ...good, userid: null }] });
    expect(r.status).toBe(422);
    expect(((await r.json()) as any).error.details[0].path).toBe("logs[0].userid");
    r = await post({ logs: [{ ...good, other: "a:1:{s:9:broken" }] });
    expect(r.status).toBe(422);
    expect(((await r.json()) as any).error.details[0].path).toBe("logs[0].other");
    r = await post({ logs: "nope" });
    expect(r.status).toBe(422);
    const big = { logs: Array.from({ length: 3000 }, (_, i) => ({ ...good, objectid: i, other: "x".repeat(100) })) };
    r = await post(big);
    expect(r.status).toBe(413);
    r = await fetch(f.url + "/webhook/moodle-events", { method: "POST", headers: { "x-moodle-token": MOODLE_TOKEN, "content-type": "text/plain" }, body: "logs" });
    expect(r.status).toBe(415);
    r = await fetch(f.url + "/webhook/moodle-events", { method: "POST", headers: { "x-moodle-token": MOODLE_TOKEN, "content-type": "application/json" }, body: "{nope" });
    expect(r.status).toBe(400);
  });

  test("lax types, PHP-serialized and JSON-string `other`, extra fields kept in the raw copy", async () => {
    const base = { courseid: "77", component: "mod_quiz", action: "submitted", target: "attempt", crud: "u", edulevel: "2", contextinstanceid: "700", grade: null, success: null };
    const r = await post({
      event_id: "lax-types-1",
      logs: [
        { ...base, userid: "41", eventname: "\\mod_quiz\\event\\attempt_submitted", timecreated: "1761229568", other: 'a:3:{s:11:"submitterid";s:2:"41";s:6:"quizid";s:1:"5";s:16:"studentisonline";b:1;}'.replace("s:16", "s:15"), ip: "10.0.0.1", somethingnew: { x: 1 } },
        { ...base, userid: 41, eventname: "\\mod_quiz\\event\\attempt_reviewed", timecreated: 1761229570, other: '{"quizid":"5"}', objectid: "" },
      ],
    });
    expect(r.status).toBe(202);
    const rows = f.daemon.store.db.prepare("SELECT other, raw, userid, courseid, timecreated, objectid FROM log_events WHERE batch_id = 'lax-types-1' ORDER BY id").all() as any[];
    expect(JSON.parse(rows[0].other)).toEqual({ submitterid: "41", quizid: "5", studentisonline: true });
    expect(JSON.parse(rows[0].raw).somethingnew).toEqual({ x: 1 });
    expect(rows[0].userid).toBe(41);
    expect(rows[0].timecreated).toBe(1761229568);
    expect(JSON.parse(rows[1].other)).toEqual({ quizid: "5" });
    expect(rows[1].objectid).toBe(null);
  });
});

describe("per-type events", () => {
  const ev = (type: string, body: unknown, token = MOODLE_TOKEN) => f.request("POST", `/api/v1/events/moodle/${type}`, { body, token });

  test("user_created / user_updated upsert users and answer 200 {status, event}", async () => {
    const u = { eventname: "\\core\\event\\user_created", userid: "301", username: "ana", firstname: "Ana", lastname: "B", email: "ana@example.org", idnumber: "", phone1: "", city: "Hue", country: "VN", suspended: "0", deleted: "0", timecreated: "1761000000", timemodified: "1761000000" };
    let r = await ev("user_created", u);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: "ok", event: "user_created" });
    r = await ev("user_updated", { ...u, eventname: "\\core\\event\\user_updated", city: "Hanoi" });
    expect(r.status).toBe(200);
    expect(f.daemon.store.db.prepare("SELECT city, username FROM moodle_users WHERE user_id = 301").get()).toEqual({ city: "Hanoi", username: "ana" });
  });

  test("user_enrolled with a teacher role makes the user staff of the course", async () => {
    const r = await ev("user_enrolled", { eventname: "\\core\\event\\user_enrolment_created", enrollmentid: 9001, userid: 302, courseid: 77, roleid: 3, status: 0, timestart: 0, timeend: 0, timecreated: 1761000000 });
    expect(r.status).toBe(200);
    expect(count("SELECT count(*) FROM course_staff WHERE course_id = 77 AND user_id = 302")).toBe(1);
    expect(count("SELECT count(*) FROM moodle_enrolments WHERE enrollment_id = 9001")).toBe(1);
  });

  test("grade_updated stores the grade and feeds the learner's score when the course is known", async () => {
    const r = await ev("grade_updated", { eventname: "\\core\\event\\grade_updated", gradeid: 5001, userid: 41, itemid: 900, itemname: "Quiz", finalgrade: "7.5", feedback: null, grader: 2, timecreated: 1761229600, timemodified: 1761229600, courseid: 77, grademax: 10 });
    expect(r.status).toBe(200);
    expect(count("SELECT count(*) FROM moodle_grades WHERE grade_id = 5001")).toBe(1);
    expect(count("SELECT count(*) FROM log_events WHERE courseid = 77 AND eventname = '\\core\\event\\user_graded'")).toBe(1);
  });

  test("unknown type is 404 listing the known ones; bad payload is 422; no token is 401", async () => {
    let r = await ev("course_deleted", {});
    expect(r.status).toBe(404);
    const body = (await r.json()) as any;
    expect(body.error.details.known).toEqual(["user_created", "user_updated", "user_enrolled", "grade_updated"]);
    r = await ev("user_created", { username: "x" });
    expect(r.status).toBe(422);
    expect(((await r.json()) as any).error.details[0].path).toBe("userid");
    r = await f.request("POST", "/api/v1/events/moodle/user_created", { body: { userid: 1 } });
    expect(r.status).toBe(401);
  });
});

describe("course structure and recommendations end to end (course 2)", () => {
  test("without structure a course is one implicit module (the course id)", async () => {
    const r = await f.request("GET", "/api/v1/courses/77/structure", { token: API_TOKEN });
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.module_scope).toBe("course");
    expect(body.modules[0].module_id).toBe(77);
    expect(body.source).toContain("implicit");
  });

  test("POST structure, then the real course 2 logs, then GET names real activities of course 2", async () => {
    const s = structure2();
    let r = await f.request("POST", "/api/v1/courses/2/structure", { body: s, token: API_TOKEN });
    expect(r.status).toBe(200);
    const summary = (await r.json()) as any;
    // The mod_subsection lessons are modules, in display order after their parent section.
    const ids = summary.modules.map((m: any) => m.module_id);
    expect(ids).toContain(14);
    expect(ids.indexOf(14)).toBe(ids.indexOf(13) + 1);
    expect(summary.modules.find((m: any) => m.module_id === 14).delegated).toBe(true);
    // The bare contents array is accepted too.
    r = await f.request("POST", "/api/v1/courses/2/structure", { body: s.contents, headers: { "x-moodle-token": MOODLE_TOKEN } });
    expect(r.status).toBe(200);
    r = await f.request("POST", "/api/v1/courses/3/structure", { body: s, token: API_TOKEN });
    expect(r.status).toBe(422);

    for (const c of chunks(course2Logs(), 200)) expect((await post({ logs: c })).status).toBe(202);
    await drained();
    const activities = new Map<number, string>();
    for (const sec of s.contents) for (const m of sec.modules) activities.set(m.id, m.name);

    // Learner 24 worked in lesson 15 ("Bài 2").
    const row = f.daemon.store.db.prepare("SELECT user_id, module_id FROM recommendations WHERE course_id = 2 AND user_id = 24 ORDER BY generated_at DESC LIMIT 1").get() as any;
    expect(row).toBeTruthy();
    r = await f.request("GET", `/api/recommendations/${row.user_id}/${row.module_id}?course_id=2`, { headers: { "x-moodle-token": MOODLE_TOKEN } });
    expect(r.status).toBe(200);
    const rec = (await r.json()) as any;
    expect(rec.module_scope).toBe("section");
    expect(rec.state_tuple).toHaveLength(6);
    expect(rec.recommendations.length).toBe(3);
    for (const item of rec.recommendations) {
      expect(activities.get(item.activity_id)).toBe(item.activity_name);
      expect(item.reason.length).toBeGreaterThan(20);
      expect(["past", "current", "future"]).toContain(item.time_context);
    }
    r = await f.request("GET", `/api/recommendations/${row.user_id}/${row.module_id}?k=5`, { token: API_TOKEN });
    expect(((await r.json()) as any).recommendations.length).toBe(5);
    r = await f.request("GET", `/api/v1/recommendations/${row.user_id}?course_id=2`, { token: API_TOKEN });
    const all = (await r.json()) as any;
    expect(all.modules.length).toBeGreaterThan(0);
    expect(all.modules.every((m: any) => m.course_id === 2)).toBe(true);
    // Staff (role 3/4 assigned in the log) are not learners.
    const staff = f.daemon.store.db.prepare("SELECT user_id FROM course_staff WHERE course_id = 2").pluck().all() as number[];
    for (const u of staff) expect(count("SELECT count(*) FROM user_states WHERE user_id = ? AND course_id = 2", u)).toBe(0);
    // The Q-table admin view.
    r = await f.request("GET", "/api/v1/recommender/qtable?course_id=2", { token: API_TOKEN });
    expect(r.status).toBe(200);
    const q = (await r.json()) as any;
    expect(Object.keys(q.states).length).toBeGreaterThan(0);
    expect(q.actions).toHaveLength(15);
    expect((await f.request("GET", "/api/v1/recommender/qtable?course_id=2", { token: MOODLE_TOKEN })).status).toBe(401);
  });

  test("unknown learner or module: 200, empty list, state null, the message", async () => {
    const r = await f.request("GET", "/api/recommendations/424242/14", { token: MOODLE_TOKEN });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ recommendations: [], state: null, message: "No recommendations available yet" });
    expect((await f.request("GET", "/api/recommendations/424242/14")).status).toBe(401);
    expect((await f.request("GET", "/api/recommendations/abc/14", { token: MOODLE_TOKEN })).status).toBe(422);
  });
});
