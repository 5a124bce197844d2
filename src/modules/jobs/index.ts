import type { AppContext } from "../../context";
import { doc } from "../../http/openapi";
import { controller, JSON_BODY, rawBody } from "../../http/plugin";
import { createJobBody, jobCreatedAnswer, jobIdParam, jobResultsAnswer, jobStatusAnswer, resultsQuery } from "./model";
import type { JobsService } from "./service";
import { type SignedRequest, verifySignature } from "./signatures";

const tags = ["jobs"];

/** The jobs API controller. */
export function jobsRoutes(ctx: AppContext, service: JobsService) {
  // With jobs.secret set the signature is the credential (older batch clients send no token).
  // What the auth step verified, handed to the handler (the replay window keys on it).
  const verified = new WeakMap<Request, SignedRequest>();
  const signed = {
    signed: {
      secret: () => ctx.config().jobs.secret,
      verify: (request: Request, body: unknown, secret: string) => {
        verified.set(request, verifySignature(secret, rawBody(request), request.headers.get("x-signature"), body));
      },
    },
  };
  return controller("jobs", ctx.config)
    .post(
      "/api/v1/jobs",
      async ({ request, body, set }) => {
        const out = await service.create(body, new URL(request.url).origin, verified.get(request) ?? null);
        set.status = 202;
        return out;
      },
      {
        parse: JSON_BODY,
        body: createJobBody,
        auth: signed,
        detail: doc({
          summary: "Create a batch job",
          description:
            "Types: moodle.import (items are Moodle log rows), recommendations.rebuild ({user_id, module_id} or {course_id}), webhooks.replay (delivery ids). `lots` is the older name of `items`. With jobs.secret set the request must carry X-Signature (hex HMAC-SHA256 of the raw body) or a body `signature`; without a secret the Bearer API token is required.",
          tags,
          responses: { 202: jobCreatedAnswer },
          errors: [400, 401, 413, 415, 422],
        }),
      },
    )
    .get("/api/v1/jobs/:id/status", ({ params }) => service.status(params.id), {
      auth: "api",
      params: jobIdParam,
      detail: doc({ summary: "A job's status and counts", tags, responses: { 200: jobStatusAnswer }, errors: [401, 404] }),
    })
    .get("/api/v1/jobs/:id/results", ({ params, query }) => service.results(params.id, query.offset, query.limit), {
      auth: "api",
      params: jobIdParam,
      query: resultsQuery,
      detail: doc({ summary: "A job's per-item results, paged", tags, responses: { 200: jobResultsAnswer }, errors: [401, 404, 422] }),
    });
}
