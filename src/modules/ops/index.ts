import type { AppContext } from "../../context";
import { doc } from "../../http/openapi";
import { controller, JSON_BODY } from "../../http/plugin";
import { configAnswer, jobAnswer, jobIdParams, jobListAnswer, jobListQuery, replayKindAnswer, replayKindBody } from "./model";
import { OpsService } from "./service";

const tags = ["operations"];

/** Admin routes for operators (API token): effective config, queue inspection and dead-job replay. */
export function opsRoutes(ctx: AppContext) {
  const ops = new OpsService(ctx);
  return controller("ops", ctx.config)
    .get("/api/v1/config", () => ops.effectiveConfig(), {
      auth: "api",
      detail: doc({ summary: "The running config, secrets masked", description: "What the process runs with: server.* and storage.* changed in the file take effect only after a restart.", tags, responses: { 200: configAnswer }, errors: [401] }),
    })
    .get("/api/v1/queue/jobs", ({ query }) => ops.listJobs(query), {
      auth: "api",
      query: jobListQuery,
      detail: doc({ summary: "Queue jobs, newest first (page with ?before=)", tags, responses: { 200: jobListAnswer }, errors: [401, 422] }),
    })
    .get("/api/v1/queue/jobs/:id", ({ params }) => ops.job(params.id), {
      auth: "api",
      params: jobIdParams,
      detail: doc({ summary: "One queue job with payload and result", tags, responses: { 200: jobAnswer }, errors: [401, 404, 422] }),
    })
    .post("/api/v1/queue/jobs/:id/replay", ({ params }) => ops.replay(params.id), {
      auth: "api",
      params: jobIdParams,
      detail: doc({ summary: "Put a dead job back in the queue", tags, responses: { 200: jobAnswer }, errors: [401, 404, 409, 422] }),
    })
    .post("/api/v1/queue/replay", ({ body }) => ops.replayKind(body.kind), {
      parse: JSON_BODY,
      body: replayKindBody,
      auth: "api",
      detail: doc({ summary: "Put every dead job of one kind back in the queue", tags, responses: { 200: replayKindAnswer }, errors: [400, 401, 413, 415, 422] }),
    });
}
