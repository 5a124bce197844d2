import type { AppContext } from "../../context";
import { doc } from "../../http/openapi";
import { controller, JSON_BODY } from "../../http/plugin";
import {
  courseParams,
  courseStructureBody,
  enrolEventExample,
  eventTypeParams,
  ingestAnswer,
  structureAnswer,
  structureSavedAnswer,
  typedEventAnswer,
  typedEventDoc,
  webhookBatch,
  webhookBatchExample,
} from "./model";
import type { MoodleService } from "./service";

const tags = ["moodle"];

/**
 * Moodle's inbound routes: Moodle token (X-Moodle-Token or Bearer); structure also takes an API
 * token. The services validate these bodies themselves (per log, per event type), so the zod
 * models document them here.
 */
export function moodleRoutes(ctx: AppContext, service: MoodleService) {
  return controller("moodle", ctx.config)
    .post(
      "/webhook/moodle-events",
      async ({ body, set }) => {
        const r = await service.ingestBatch(body);
        set.status = 202;
        return r;
      },
      {
        parse: JSON_BODY,
        auth: "moodle",
        detail: doc({
          summary: "Ingest a batch of Moodle logs",
          description: "202 once stored. 400 \"No logs provided\" for an empty batch; 422 names logs[i].field. A repeated event_id or a log already stored counts as a duplicate.",
          tags,
          body: webhookBatch.extend({ logs: webhookBatch.shape.logs.meta({ description: "Moodle log objects: userid, courseid, eventname, timecreated required" }) }),
          bodyExample: webhookBatchExample,
          responses: { 202: ingestAnswer },
          errors: [400, 401, 413, 415, 422],
        }),
      },
    )
    .post("/api/v1/events/moodle/:type", async ({ params, body }) => service.typedEvent(params.type, body), {
      parse: JSON_BODY,
      auth: "moodle",
      params: eventTypeParams,
      detail: doc({
        summary: "A typed Moodle event (user_created, user_updated, user_enrolled, grade_updated)",
        description: "Stored (users, enrolments, grades upserted) and published as moodle.<type>. Unknown type → 404 with details.known.",
        tags,
        body: typedEventDoc,
        bodyExample: enrolEventExample,
        responses: { 200: typedEventAnswer },
        errors: [400, 401, 404, 413, 415, 422],
      }),
    })
    .post("/api/v1/courses/:courseId/structure", async ({ params, body }) => service.saveStructure(params.courseId, body), {
      parse: JSON_BODY,
      auth: "api-or-moodle",
      params: courseParams,
      detail: doc({
        summary: "Save a course's structure (core_course_get_contents output)",
        description: "The bare array, or {course_id, contents}.",
        tags,
        body: courseStructureBody,
        responses: { 200: structureSavedAnswer },
        errors: [400, 401, 413, 415, 422],
      }),
    })
    .get("/api/v1/courses/:courseId/structure", ({ params }) => service.getStructure(params.courseId), {
      auth: "api-or-moodle",
      params: courseParams,
      detail: doc({ summary: "A course's lessons and activities as ferry sees them", tags, responses: { 200: structureAnswer }, errors: [401, 422] }),
    });
}
