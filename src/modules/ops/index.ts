import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { requireToken } from "../../http/auth";
import { validate } from "../../http/errors";
import { readJson } from "../../http/plugin";
import { jobIdParams, jobListQuery, replayKindBody } from "./model";
import { OpsService } from "./service";

/** Admin routes for operators (API token): effective config, queue inspection and dead-job replay. */
export function opsRoutes(ctx: AppContext) {
  const ops = new OpsService(ctx);
  return new Elysia({ name: "ops" })
    .onBeforeHandle(({ request }) => requireToken(request.headers, ctx.config().auth.api_tokens))
    .get("/api/v1/config", () => ops.effectiveConfig())
    .get("/api/v1/queue/jobs", ({ query }) => ops.listJobs(validate(jobListQuery, query, "query")))
    .get("/api/v1/queue/jobs/:id", ({ params }) => ops.job(validate(jobIdParams, params, "path").id))
    .post("/api/v1/queue/jobs/:id/replay", ({ params }) => ops.replay(validate(jobIdParams, params, "path").id))
    .post(
      "/api/v1/queue/replay",
      async ({ request }) => ops.replayKind(validate(replayKindBody, await readJson(request, ctx.config().server.body_limit)).kind),
      { parse: "none" },
    );
}
