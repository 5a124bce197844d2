import { describe, expect, test } from "bun:test";
import { webhookBatch } from "../../src/modules/moodle/model";
import { fastBatch } from "../../src/modules/moodle/service";

// The envelope fast path must accept only what the zod schema accepts, with the same output.
describe("webhook envelope fast path", () => {
  const logs = [{ userid: 5, courseid: 2, eventname: "\\core\\event\\course_viewed", timecreated: 1 }];
  const bodies: unknown[] = [
    { logs },
    { logs, event_id: "abc" },
    { logs, event_id: 42 },
    { logs, event_id: 1.5, timestamp: 1760000000 },
    { logs, timestamp: null, extra: true },
    { logs, event_id: "" },
    { logs, event_id: "x".repeat(201) },
    { logs, event_id: null },
    { logs, event_id: true },
    { logs, timestamp: "1760000000" },
    { logs, timestamp: "soon" },
    { logs: "nope" },
    { logs: {} },
    [logs],
    null,
  ];
  test("the common shapes take the fast path", () => {
    for (const body of bodies.slice(0, 5)) expect(fastBatch(body)).not.toBeNull();
  });
  for (const body of bodies) {
    test(JSON.stringify(body).slice(0, 80), () => {
      const fast = fastBatch(body);
      const zod = webhookBatch.safeParse(body);
      if (fast) {
        // Accepted fast: zod accepts it too, with the same logs and event_id.
        expect(zod.success).toBe(true);
        expect(fast.logs).toEqual(zod.data!.logs);
        expect(fast.event_id).toEqual(zod.data!.event_id);
      }
      // What zod refuses never passes the fast path.
      if (!zod.success) expect(fast).toBeNull();
    });
  }
});
