import { z } from "zod";

// Path and query parameters of the recommender routes (numbers arrive as strings).
const id = z.string().regex(/^-?\d+$/, "expected an integer id").transform(Number);
/** The same as `id`, with an example for /docs (on the input side, which the document shows). */
const exampleId = (example: string) => z.string().regex(/^-?\d+$/, "expected an integer id").meta({ examples: [example] }).transform(Number);

export const oneParams = z.object({ userId: exampleId("5"), moduleId: exampleId("13") });
export const userParams = z.object({ userId: exampleId("5") });
export const recQuery = z.looseObject({
  course_id: id.optional(),
  k: z.string().regex(/^\d+$/, "expected a positive integer").transform(Number).pipe(z.number().int().min(1).max(10, "at most 10")).optional(),
});
export const qtableQuery = z.looseObject({ course_id: id.optional() });
export const rebuildBody = z.strictObject({ user_id: z.number().int().optional(), module_id: z.number().int().optional(), course_id: z.number().int().optional() });

// Answers (documented in /openapi.json).
const recommendation = z.looseObject({
  activity_id: z.number().int(),
  activity_type: z.string(),
  activity_name: z.string().nullable(),
  action: z.string().meta({ description: "type:time, e.g. view_content:current" }),
  time_context: z.string(),
  q_value: z.number().nullable(),
  reason: z.string(),
});
export const recommendationAnswer = z.looseObject({
  user_id: z.number().int(),
  course_id: z.number().int().nullable(),
  module_id: z.number().int(),
  module_scope: z.enum(["section", "course"]).optional(),
  state: z.looseObject({ level: z.unknown(), module_idx: z.unknown(), progress: z.unknown(), score: z.unknown(), phase: z.unknown(), engagement: z.unknown() }).nullable(),
  state_tuple: z.array(z.unknown()).nullable().optional(),
  recommendations: z.array(recommendation),
  generated_at: z.string().nullable().optional(),
  model_version: z.unknown().optional(),
  message: z.string().optional().meta({ description: '"No recommendations available yet" for an unknown learner or module' }),
});
export const userRecommendationsAnswer = z.looseObject({ user_id: z.number().int(), course_id: z.number().int().nullable(), modules: z.array(recommendationAnswer), message: z.string().optional() });
export const qtableAnswer = z.looseObject({
  last_seq: z.number().int(),
  alpha: z.number(),
  gamma: z.number(),
  actions: z.array(z.string()),
  state_key: z.string(),
  last_snapshot: z.looseObject({ last_seq: z.number().int(), at: z.string() }).nullable(),
  courses: z.array(z.looseObject({ course_id: z.number().int(), states: z.number().int(), updates: z.number().int() })).optional(),
  course_id: z.number().int().optional(),
  states: z.unknown().optional().meta({ description: "with ?course_id=: state key → action values and visit counts" }),
});
