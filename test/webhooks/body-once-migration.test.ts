import { expect, test } from "bun:test";
import { join } from "node:path";
import { allMigrations } from "../../src/modules";
import { openStore } from "../../src/store/db";
import { tempDir } from "../helpers/ferry";

// Migration 027 on a database written before it: a delivery that carried a copy of its event's
// envelope now references it; any other body (a job webhook's, or one that differs) is kept.
test("027: delivery bodies identical to their event's envelope become references; others are kept", () => {
  const path = join(tempDir(), "ferry.db");
  const before = openStore({ path }, allMigrations.filter((m) => m.version < 27));
  const db = before.db;
  const envelope = JSON.stringify({ name: "attempt.started", context: { tenantId: null, organisationId: null, userId: null }, data: { n: 1 }, timestamp: "2026-01-01T00:00:00.000Z", id: "e1" });
  db.prepare("INSERT INTO events (id, name, envelope, created_at) VALUES ('e1', 'attempt.started', ?, 1)").run(envelope);
  const ins = db.prepare(
    "INSERT INTO webhook_deliveries (id, event_id, event_name, subscriber_id, url, body, status, attempts, max_attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, 'attempt.started', ?, ?, ?, 'pending', 0, 5, 1, 1, 1)",
  );
  ins.run("msg_same", "e1", "s", null, envelope);
  ins.run("msg_other", "e1", "s2", null, '{"different":true}');
  ins.run("msg_gone", "e-pruned", "s", null, '{"event":"row gone"}');
  ins.run("msg_job", null, "_jobs", "https://example.com/done", '{"job":1}');
  before.close();

  const after = openStore({ path }, allMigrations);
  expect(after.schemaVersion).toBeGreaterThanOrEqual(27);
  const rows = after.db.prepare("SELECT id, body FROM webhook_deliveries ORDER BY id").all();
  expect(rows).toEqual([
    { id: "msg_gone", body: '{"event":"row gone"}' },
    { id: "msg_job", body: '{"job":1}' },
    { id: "msg_other", body: '{"different":true}' },
    { id: "msg_same", body: null },
  ]);
  // What the engine claims and the API shows is the same body as before the migration.
  expect(after.db.prepare("SELECT coalesce(body, (SELECT envelope FROM events WHERE events.id = d.event_id)) FROM webhook_deliveries d WHERE id = 'msg_same'").pluck().get()).toBe(envelope);
  const indexes = after.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'webhook_deliveries' AND sql IS NOT NULL ORDER BY name").pluck().all();
  expect(indexes).toEqual(["webhook_deliveries_due", "webhook_deliveries_event", "webhook_deliveries_finished", "webhook_deliveries_problem"]);
  // Neither a body nor an event to take it from: refused.
  expect(() => after.db.prepare("INSERT INTO webhook_deliveries (id, event_id, event_name, subscriber_id, body, max_attempts, created_at, updated_at) VALUES ('x', NULL, 'n', 's', NULL, 1, 1, 1)").run()).toThrow(/CHECK/);
  after.close();
});
