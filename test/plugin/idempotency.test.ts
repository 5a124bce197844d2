// ferry's per-log idempotency key (sent by local_ferry as site + outbox row), through the real
// POST /webhook/moodle-events on loopback and the real SQLite file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFerry, type TestFerry } from "../helpers/ferry";

const MOODLE_TOKEN = "idem-moodle-token";
let f: TestFerry;
beforeAll(async () => {
  f = await startFerry({ moodle: { tokens: [MOODLE_TOKEN] }, auth: { api_tokens: ["idem-api-token"] } });
});
afterAll(() => f.stop());

const post = (body: unknown) => f.request("POST", "/webhook/moodle-events", { body, headers: { "x-moodle-token": MOODLE_TOKEN } });
const stored = (userid: number) => f.daemon.store.db.prepare("SELECT count(*) FROM log_events WHERE userid = ?").pluck().get(userid) as number;

/** Two views of the same page by the same user in the same second: two real events. */
function view(userid: number, key?: string) {
  return {
    eventname: "\\mod_page\\event\\course_module_viewed", component: "mod_page", action: "viewed", target: "course_module",
    objectid: 1, contextinstanceid: 3, contextlevel: 70, userid, courseid: 2, timecreated: 1754155620, edulevel: 2,
    ...(key === undefined ? {} : { idempotency_key: key }),
  };
}

describe("per-log idempotency_key", () => {
  test("two events with the same user, object and second but different keys are both stored", async () => {
    const r = await post({ logs: [view(41, "moodle:site-a:1:1754155620"), view(41, "moodle:site-a:2:1754155620")], event_id: "idem-1" });
    expect(r.status).toBe(202);
    expect(await r.json()).toMatchObject({ events_received: 2, accepted: 2, duplicates: 0 });
    expect(stored(41)).toBe(2);
  });

  test("without keys the same two events are merged by the content hash (the old behaviour)", async () => {
    const r = await post({ logs: [view(42), view(42)], event_id: "idem-2" });
    expect(await r.json()).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(stored(42)).toBe(1);
  });

  test("a log resent in another batch (new event_id) is a duplicate by its key", async () => {
    const r = await post({ logs: [view(41, "moodle:site-a:2:1754155620"), view(41, "moodle:site-a:3:1754155620")], event_id: "idem-3" });
    expect(await r.json()).toMatchObject({ events_received: 2, accepted: 1, duplicates: 1 });
    expect(stored(41)).toBe(3);
  });

  test("the same row id from another site is a different event", async () => {
    const r = await post({ logs: [view(41, "moodle:site-b:1:1754155620")], event_id: "idem-4" });
    expect(await r.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(stored(41)).toBe(4);
  });

  test("a key that is not a 1-200 character string is a 422 naming the field; nothing is stored", async () => {
    for (const bad of [17, "", "x".repeat(201), { k: 1 }]) {
      const r = await post({ logs: [view(43), { ...view(43), idempotency_key: bad }], event_id: `idem-bad-${typeof bad}-${String(bad).length}` });
      expect(r.status).toBe(422);
      const body = (await r.json()) as any;
      expect(JSON.stringify(body)).toContain("logs[1].idempotency_key");
      expect(JSON.stringify(body)).toContain("1-200 characters");
    }
    expect(stored(43)).toBe(0);
  });

  test("grade_updated with the batch log's key is not stored a second time as a pipeline event", async () => {
    const graded = {
      eventname: "\\core\\event\\user_graded", component: "core", action: "graded", target: "user", objectid: 43,
      contextinstanceid: 2, contextlevel: 50, userid: 44, relateduserid: 44, courseid: 2, timecreated: 1754165235, edulevel: 1,
      other: { itemid: 11, finalgrade: 2 }, gradeitem: 11, finalgrade: 2, grademax: 10, idempotency_key: "moodle:site-a:9:1754165235",
    };
    expect((await post({ logs: [graded], event_id: "idem-grade" })).status).toBe(202);
    const typed = { eventname: graded.eventname, gradeid: 43, userid: 44, courseid: 2, itemid: 11, itemname: "Quiz 1", finalgrade: 2, grademax: 10,
      feedback: null, grader: 4, timecreated: 1754165235, timemodified: 1754165235, idempotency_key: graded.idempotency_key };
    const r = await f.request("POST", "/api/v1/events/moodle/grade_updated", { body: typed, headers: { "x-moodle-token": MOODLE_TOKEN } });
    expect(r.status).toBe(200);
    expect(stored(44)).toBe(1);
    // A grade from another sender (no key) is still stored for the pipeline.
    const other = await f.request("POST", "/api/v1/events/moodle/grade_updated", { body: { ...typed, gradeid: 44, idempotency_key: undefined }, headers: { "x-moodle-token": MOODLE_TOKEN } });
    expect(other.status).toBe(200);
    expect(stored(44)).toBe(2);
  });
});
