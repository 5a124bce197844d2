import { afterAll, expect, test } from "bun:test";
import { startFerry } from "./helpers/ferry";

const ferry = await startFerry();
afterAll(() => ferry.stop());

test("health answers 200 with the database check", async () => {
  const r = await ferry.request("GET", "/health");
  expect(r.status).toBe(200);
  const body = (await r.json()) as any;
  expect(body.database.ok).toBe(true);
});
