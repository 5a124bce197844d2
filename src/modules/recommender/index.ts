import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { requireToken } from "../../http/auth";
import { validate } from "../../http/errors";
import { oneParams, qtableQuery, recQuery, userParams } from "./model";
import type { RecommenderService } from "./service";

const JSON_HEADERS = { "content-type": "application/json" };

/**
 * Recommendation reads accept an API token or a Moodle token (Moodle pages call them, as with
 * the original service, but never without credentials). The Q-table view is an admin route.
 */
export function recommenderRoutes(ctx: AppContext, service: RecommenderService) {
  const readAuth = (headers: Headers) => {
    const cfg = ctx.config();
    requireToken(headers, [...cfg.auth.api_tokens, ...cfg.moodle.tokens], ["x-moodle-token"]);
  };
  return new Elysia({ name: "recommender" })
    .get("/api/recommendations/:userId/:moduleId", ({ request, params, query }) => {
      readAuth(request.headers);
      const p = validate(oneParams, params, "path");
      const q = validate(recQuery, query, "query");
      return new Response(service.getOne(p.userId, p.moduleId, q.course_id ?? null, q.k ?? null), { headers: JSON_HEADERS });
    })
    .get("/api/v1/recommendations/:userId", ({ request, params, query }) => {
      readAuth(request.headers);
      const p = validate(userParams, params, "path");
      const q = validate(recQuery, query, "query");
      return service.getForUser(p.userId, q.course_id ?? null);
    })
    .get("/api/v1/recommender/qtable", ({ request, query }) => {
      requireToken(request.headers, ctx.config().auth.api_tokens);
      const q = validate(qtableQuery, query, "query");
      return service.qtable(q.course_id ?? null);
    });
}
