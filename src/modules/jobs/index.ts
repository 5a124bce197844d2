import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { requireToken } from "../../http/auth";
import { validate } from "../../http/errors";
import { rawBody, readJson } from "../../http/plugin";
import { createJobBody, resultsQuery } from "./model";
import type { JobsService } from "./service";
import { verifySignature } from "./signatures";

/** The jobs API controller. */
export function jobsRoutes(ctx: AppContext, service: JobsService) {
  return new Elysia({ name: "jobs" })
    .post("/api/v1/jobs", async ({ request, set }) => {
      const body = await readJson(request, ctx.config().server.body_limit);
      const secret = ctx.config().jobs.secret;
      // With jobs.secret set the signature is the credential (older batch clients send no token).
      const signed = secret ? verifySignature(secret, rawBody(request), request.headers.get("x-signature"), body) : null;
      if (!signed) requireToken(request.headers, ctx.config().auth.api_tokens);
      const input = validate(createJobBody, body);
      const out = await service.create(input, new URL(request.url).origin, signed);
      set.status = 202;
      return out;
    }, { parse: "none" })
    .get("/api/v1/jobs/:id/status", ({ request, params }) => {
      requireToken(request.headers, ctx.config().auth.api_tokens);
      return service.status(params.id);
    })
    .get("/api/v1/jobs/:id/results", ({ request, params, query }) => {
      requireToken(request.headers, ctx.config().auth.api_tokens);
      const q = validate(resultsQuery, query, "query");
      return service.results(params.id, q.offset, q.limit);
    });
}
