import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { requireToken } from "../../http/auth";
import { validate } from "../../http/errors";
import { readJson } from "../../http/plugin";
import { z } from "zod";
import type { MoodleService } from "./service";

const courseParams = z.object({ courseId: z.string().regex(/^\d+$/, "expected a course id").transform(Number) });

/** Moodle's inbound routes: Moodle token (X-Moodle-Token or Bearer); structure also takes an API token. */
export function moodleRoutes(ctx: AppContext, service: MoodleService) {
  const limit = () => ctx.config().server.body_limit;
  const moodleAuth = (h: Headers) => requireToken(h, ctx.config().moodle.tokens, ["x-moodle-token"]);
  const eitherAuth = (h: Headers) => {
    const c = ctx.config();
    requireToken(h, [...c.auth.api_tokens, ...c.moodle.tokens], ["x-moodle-token"]);
  };
  return new Elysia({ name: "moodle" })
    .post(
      "/webhook/moodle-events",
      async ({ request, set }) => {
        moodleAuth(request.headers);
        const r = await service.ingestBatch(await readJson(request, limit()));
        set.status = 202;
        return r;
      },
      { parse: "none" },
    )
    .post(
      "/api/v1/events/moodle/:type",
      async ({ request, params }) => {
        moodleAuth(request.headers);
        return service.typedEvent(params.type, await readJson(request, limit()));
      },
      { parse: "none" },
    )
    .post(
      "/api/v1/courses/:courseId/structure",
      async ({ request, params }) => {
        eitherAuth(request.headers);
        return service.saveStructure(validate(courseParams, params, "path").courseId, await readJson(request, limit()));
      },
      { parse: "none" },
    )
    .get("/api/v1/courses/:courseId/structure", ({ request, params }) => {
      eitherAuth(request.headers);
      return service.getStructure(validate(courseParams, params, "path").courseId);
    });
}
