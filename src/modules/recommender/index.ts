import type { AppContext } from "../../context";
import { doc } from "../../http/openapi";
import { controller } from "../../http/plugin";
import { oneParams, qtableAnswer, qtableQuery, recommendationAnswer, recQuery, userParams, userRecommendationsAnswer } from "./model";
/** The reads the routes serve: RecommenderService (SQLite, synchronous) or PgRecommenderService (PostgreSQL). */
export interface RecommenderReads {
  getOne(userId: number, moduleId: number, courseId: number | null, k: number | null): string | Uint8Array | Promise<string | Uint8Array>;
  getForUser(userId: number, courseId: number | null): Record<string, unknown> | Promise<Record<string, unknown>>;
  qtable(courseId: number | null): Record<string, unknown> | Promise<Record<string, unknown>>;
}

const answer = (body: string | Uint8Array) => new Response(body, { headers: JSON_HEADERS });

const JSON_HEADERS = { "content-type": "application/json" };
const tags = ["recommendations"];

/**
 * Recommendation reads accept an API token or a Moodle token (Moodle pages call them, as with
 * the original service, but never without credentials). The Q-table view is an admin route.
 */
export function recommenderRoutes(ctx: AppContext, service: RecommenderReads) {
  return controller("recommender", ctx.config)
    .get(
      "/api/recommendations/:userId/:moduleId",
      ({ params, query }) => {
        const body = service.getOne(params.userId, params.moduleId, query.course_id ?? null, query.k ?? null);
        return body instanceof Promise ? body.then(answer) : answer(body);
      },
      {
        auth: "api-or-moodle",
        params: oneParams,
        query: recQuery,
        detail: doc({
          summary: "Next-activity recommendations for a learner in a lesson",
          description: "Unknown learner or module → 200 with recommendations: [], state: null and a message.",
          tags,
          responses: { 200: recommendationAnswer },
          errors: [401, 422],
        }),
      },
    )
    .get("/api/v1/recommendations/:userId", ({ params, query }) => service.getForUser(params.userId, query.course_id ?? null), {
      auth: "api-or-moodle",
      params: userParams,
      query: recQuery,
      detail: doc({ summary: "A learner's recommendations for every lesson", tags, responses: { 200: userRecommendationsAnswer }, errors: [401, 422] }),
    })
    .get("/api/v1/recommender/qtable", ({ query }) => service.qtable(query.course_id ?? null), {
      auth: "api",
      query: qtableQuery,
      detail: doc({ summary: "The live Q-table (all courses, or one with ?course_id=)", tags, responses: { 200: qtableAnswer }, errors: [401, 404, 422] }),
    });
}
