// The answers /openapi.json documents are the answers ferry gives: real responses of a small
// session (Moodle events, a webhook delivery, a job) parse with the zod models the document is
// generated from.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { z } from "zod";
import { healthAnswer } from "../../src/modules/health/model";
import { jobCreatedAnswer, jobResultsAnswer, jobStatusAnswer } from "../../src/modules/jobs/model";
import { ingestAnswer, structureAnswer, structureSavedAnswer, typedEventAnswer } from "../../src/modules/moodle/model";
import { configAnswer, jobAnswer, jobListAnswer, replayKindAnswer } from "../../src/modules/ops/model";
import { qtableAnswer, recommendationAnswer, userRecommendationsAnswer } from "../../src/modules/recommender/model";
import { bulkRetryAnswer, deliveryAnswer, failuresAnswer, metricsAnswer, pluginsAnswer, publishAnswer, retryAnswer, webhookHealthAnswer } from "../../src/modules/webhooks/model";
import { errorEnvelope } from "../../src/http/openapi";
import { FIXTURES, freePort, startFerry, waitFor, type TestFerry } from "../helpers/ferry";
import { join } from "node:path";

const API = "dev-api-token";
const MOODLE = { "x-moodle-token": "dev-moodle-token" };
let f: TestFerry;
beforeAll(async () => {
  f = await startFerry({ webhooks: { allowed_targets: ["127.0.0.1"], subscribers: [{ id: "down", url: `http://127.0.0.1:${freePort()}/x`, retry: { max_attempts: 1 } }] } });
});
afterAll(() => f.stop());

async function answer(schema: z.ZodType, method: string, path: string, opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {}, status = 200) {
  const r = await f.request(method, path, opts);
  const body = await r.json();
  expect([path, r.status]).toEqual([path, status]);
  const parsed = schema.safeParse(body);
  expect([path, parsed.success ? "conforms" : parsed.error.issues]).toEqual([path, "conforms"]);
  return body as any;
}

test("real answers match the documented answer models", async () => {
  await answer(healthAnswer, "GET", "/health");
  await answer(configAnswer, "GET", "/api/v1/config", { token: API });
  const log = { id: 1, userid: 5, courseid: 2, eventname: "\\mod_page\\event\\course_module_viewed", contextinstanceid: 60, timecreated: 1763794641 };
  await answer(ingestAnswer, "POST", "/webhook/moodle-events", { headers: MOODLE, body: { logs: [log] } }, 202);
  await answer(typedEventAnswer, "POST", "/api/v1/events/moodle/user_enrolled", { headers: MOODLE, body: { enrollmentid: 1, userid: 5, courseid: 2 } });
  await answer(structureSavedAnswer, "POST", "/api/v1/courses/2/structure", { headers: MOODLE, body: await Bun.file(join(FIXTURES, "moodle/course_structure_2.json")).json() });
  await answer(structureAnswer, "GET", "/api/v1/courses/2/structure", { token: API });
  await waitFor(async () => ((await (await f.request("GET", "/api/v1/recommendations/5?course_id=2", { token: API })).json()) as any).modules?.length > 0, 10_000, "recommendations");
  const user = await answer(userRecommendationsAnswer, "GET", "/api/v1/recommendations/5?course_id=2", { token: API });
  const moduleId = user.modules[0].module_id;
  await answer(recommendationAnswer, "GET", `/api/recommendations/5/${moduleId}?course_id=2`, { headers: MOODLE });
  await answer(recommendationAnswer, "GET", "/api/recommendations/999/1", { headers: MOODLE }); // the empty answer
  await answer(qtableAnswer, "GET", "/api/v1/recommender/qtable", { token: API });
  await answer(qtableAnswer, "GET", "/api/v1/recommender/qtable?course_id=2", { token: API });

  await answer(publishAnswer, "POST", "/api/v1/events", { token: API, body: { name: "a.b", data: { x: 1 } } }, 202);
  const failures = await waitFor(async () => {
    const b = (await (await f.request("GET", "/api/v1/webhook-failures", { token: API })).json()) as any;
    return b.count > 0 ? b : null;
  }, 10_000, "a dead delivery");
  expect(failuresAnswer.safeParse(failures).success).toBe(true);
  const id = failures.failures[0].delivery_id;
  await answer(deliveryAnswer, "GET", `/api/v1/deliveries/${id}`, { token: API });
  await answer(webhookHealthAnswer, "GET", "/api/v1/webhook-health", { token: API });
  await answer(metricsAnswer, "GET", "/api/v1/webhook-metrics?hours=1", { token: API });
  await answer(pluginsAnswer, "GET", "/api/v1/plugins", { token: API });
  await answer(retryAnswer, "POST", `/api/v1/deliveries/${id}/retry`, { token: API }, 202);
  await answer(bulkRetryAnswer, "POST", "/api/v1/webhook-failures/retry", { token: API, body: {} }, 202);

  const list = await answer(jobListAnswer, "GET", "/api/v1/queue/jobs?limit=5", { token: API });
  await answer(jobAnswer, "GET", `/api/v1/queue/jobs/${list.jobs[0].id}`, { token: API });
  await answer(replayKindAnswer, "POST", "/api/v1/queue/replay", { token: API, body: { kind: "bridge.sync" } });

  const job = await answer(jobCreatedAnswer, "POST", "/api/v1/jobs", { token: API, body: { type: "recommendations.rebuild", items: [{ course_id: 2 }] } }, 202);
  await waitFor(async () => ((await (await f.request("GET", `/api/v1/jobs/${job.job_id}/status`, { token: API })).json()) as any).finished_at, 10_000, "job done");
  await answer(jobStatusAnswer, "GET", `/api/v1/jobs/${job.job_id}/status`, { token: API });
  await answer(jobResultsAnswer, "GET", `/api/v1/jobs/${job.job_id}/results`, { token: API });

  // Errors use the envelope.
  await answer(errorEnvelope, "GET", "/api/v1/queue/jobs/999999", { token: API }, 404);
  await answer(errorEnvelope, "GET", "/api/v1/config", {}, 401);
  await answer(errorEnvelope, "POST", "/api/v1/events", { token: API, body: { data: {} } }, 422);
}, 60_000);
