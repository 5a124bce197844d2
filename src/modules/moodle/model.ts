import { z } from "zod";

// Payload schemas for the Moodle endpoints: the single source of truth for what ferry accepts.
// Real observers send ids as strings ("5"), nulls and "" for empty values: numbers are coerced,
// empty values become null, unknown fields are kept (loose objects).

const NUMERIC = /^\s*-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\s*$/;

/** A number, or a string holding one ("5", "0.00000"). */
export const num = z.union([
  z.number(),
  z.string().regex(NUMERIC, "expected a number or a numeric string").transform(Number),
]);
/** An integer, or a string holding one. */
export const int = z.union([
  z.number().int(),
  z.string().regex(/^\s*-?\d+\s*$/, "expected an integer or an integer string").transform(Number),
]);
/** Wraps a schema so a missing key, null and "" all mean "no value" (null). */
function nullable<S extends z.ZodType>(schema: S) {
  return z
    .union([z.null(), z.literal(""), schema])
    .optional()
    .transform((v): z.output<S> | null => (v === "" || v === undefined ? null : (v as z.output<S> | null)));
}
/** Like `num` but null, a missing key and "" mean "no value". */
export const optNum = nullable(z.union([z.number(), z.string().regex(NUMERIC, "expected a number, a numeric string or null").transform(Number)]));
export const optInt = nullable(z.union([z.number().int(), z.string().regex(/^\s*-?\d+\s*$/, "expected an integer, an integer string or null").transform(Number)]));
const optStr = z.string().nullish().transform((v) => v ?? null);
const optBool = nullable(z.union([z.boolean(), z.number(), z.string().regex(/^\s*-?\d+\s*$/, "expected a boolean, 0/1 or null").transform(Number)])).transform((v) =>
  v === null ? null : typeof v === "boolean" ? v : v !== 0,
);

const KEY_MESSAGE = "expected idempotency_key: a string of 1-200 characters";
/**
 * The sender's stable key for one event (local_ferry: site + outbox row). When present it is the
 * event's identity for deduplication, so a resend in another batch is a duplicate while two real
 * events with the same user, object and second are not.
 */
const idempotencyKey = z.string(KEY_MESSAGE).min(1, KEY_MESSAGE).max(200, KEY_MESSAGE).nullish().transform((v) => v ?? null);

/** One Moodle log: the observer's fields, get_data()/logstore fields and our plugin's enrichment. */
export const moodleLog = z.looseObject({
  id: optInt,
  idempotency_key: idempotencyKey,
  userid: int,
  courseid: int,
  eventname: z.string().min(1, "expected a Moodle event name such as \\core\\event\\course_viewed"),
  component: optStr,
  action: optStr,
  target: optStr,
  objecttable: optStr,
  objectid: optInt,
  crud: optStr,
  edulevel: optInt,
  contextid: optInt,
  contextlevel: optInt,
  contextinstanceid: optInt,
  relateduserid: optInt,
  timecreated: int,
  grade: optNum,
  success: optBool,
  /** An object, a JSON string or a PHP serialize() string; parsed by normalize.ts. */
  other: z.unknown().optional(),
  // Enrichment added by our plugin.
  sectionid: optInt,
  modname: optStr,
  cmname: optStr,
  gradeitem: optInt,
  finalgrade: optNum,
  grademax: optNum,
  completionstate: optInt,
});
export type MoodleLog = z.output<typeof moodleLog>;

export const webhookBatch = z.looseObject({
  logs: z.array(z.unknown(), "expected logs: an array of Moodle log objects"),
  event_id: z.union([z.string().min(1).max(200), z.number()]).transform(String).optional(),
  timestamp: optNum,
});

// The backend-sync plugin's per-type payloads (spec: "all fields as that plugin sends them").
export const userEvent = z.looseObject({
  eventname: optStr,
  userid: int,
  username: optStr,
  firstname: optStr,
  lastname: optStr,
  email: optStr,
  idnumber: optStr,
  phone1: optStr,
  city: optStr,
  country: optStr,
  suspended: optBool,
  deleted: optBool,
  timecreated: optInt,
  timemodified: optInt,
});
export const enrolEvent = z.looseObject({
  eventname: optStr,
  enrollmentid: int,
  userid: int,
  courseid: int,
  roleid: optInt,
  status: optInt,
  timestart: optInt,
  timeend: optInt,
  timecreated: optInt,
});
export const gradeEvent = z.looseObject({
  eventname: optStr,
  gradeid: int,
  userid: int,
  itemid: int,
  itemname: optStr,
  finalgrade: optNum,
  feedback: optStr,
  grader: optInt,
  timecreated: optInt,
  timemodified: optInt,
  // Sent by local_ferry; used when present.
  courseid: optInt,
  grademax: optNum,
  /** The key of the same event's batch log: the grade's pipeline row is then that log's duplicate. */
  idempotency_key: idempotencyKey,
});
export const EVENT_TYPES = ["user_created", "user_updated", "user_enrolled", "grade_updated"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** core_course_get_contents: sections with their modules (extra fields kept, ignored). */
const structureModule = z.looseObject({
  id: int,
  name: z.string().nullish(),
  modname: z.string(),
  instance: optInt,
  customdata: z.unknown().optional(),
  visible: optInt,
});
const structureSection = z.looseObject({
  id: int,
  name: z.string().nullish(),
  section: optInt,
  component: z.string().nullish(),
  itemid: optInt,
  modules: z.array(structureModule).default([]),
});
export const courseContents = z.array(structureSection);
export const courseStructureBody = z.union([
  courseContents,
  z.looseObject({ course_id: optInt, contents: courseContents }),
]);
export type CourseContents = z.output<typeof courseContents>;

// Routes: path parameters, the typed-event bodies per type and the answers (/openapi.json).
export const courseParams = z.strictObject({ courseId: z.string().regex(/^\d+$/, "expected a course id").meta({ examples: ["2"] }).transform(Number) });
export const eventTypeParams = z.strictObject({ type: z.string().meta({ description: `one of ${EVENT_TYPES.join(", ")}`, examples: ["user_enrolled"] }) });
export const typedEventDoc = z.union([userEvent, enrolEvent, gradeEvent]).meta({
  description: "user_created / user_updated: a user (userid …); user_enrolled: {enrollmentid, userid, courseid, roleid?…}; grade_updated: {gradeid, userid, itemid, finalgrade?…}",
});
export const enrolEventExample = { enrollmentid: 77, userid: 5, courseid: 2, roleid: 5 };
/** An example batch for the docs: one log as the plugin sends it. */
export const webhookBatchExample = {
  event_id: "moodle-batch-1",
  logs: [{ id: 9001, userid: 5, courseid: 2, eventname: "\\mod_page\\event\\course_module_viewed", component: "mod_page", action: "viewed", target: "course_module", contextinstanceid: 60, timecreated: 1763794641 }],
};
export const ingestAnswer = z.looseObject({
  status: z.literal("accepted"),
  event_id: z.string().nullable(),
  events_received: z.number().int(),
  accepted: z.number().int(),
  duplicates: z.number().int().meta({ description: "logs (or a whole event_id) seen before, never processed twice" }),
});
export const typedEventAnswer = z.looseObject({ status: z.literal("ok"), event: z.enum(EVENT_TYPES) });
export const structureSavedAnswer = z.looseObject({ status: z.literal("ok") });
export const structureAnswer = z.looseObject({ course_id: z.number().int() });
