import { z } from "zod";

export const JOB_TYPES = ["moodle.import", "recommendations.rebuild", "webhooks.replay"] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** POST /api/v1/jobs (`lots` is the older name of `items`; `signature` is the older clients' body signature). */
export const createJobBody = z
  .strictObject({
    type: z.string().min(1).meta({ description: JOB_TYPES.join(" | ") }),
    items: z
      .array(z.unknown())
      .min(1, "expected at least one item")
      .optional()
      .meta({ description: "moodle.import: Moodle log rows (as in POST /webhook/moodle-events); recommendations.rebuild: {user_id, module_id} or {course_id}; webhooks.replay: delivery ids" }),
    lots: z.array(z.unknown()).min(1, "expected at least one item").optional().meta({ description: "the older name of items (send one of them)" }),
    webhook_url: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).optional(),
    options: z.record(z.string(), z.unknown()).optional(),
    signature: z.string().optional(),
  })
  .superRefine((b, ctx) => {
    if (!b.items && !b.lots) ctx.addIssue({ code: "custom", path: ["items"], message: "required (an array of items; `lots` is accepted as an alias)" });
    if (b.items && b.lots) ctx.addIssue({ code: "custom", path: ["lots"], message: "send either items or lots, not both" });
  })
  .meta({
    examples: [
      { type: "recommendations.rebuild", items: [{ course_id: 2 }, { user_id: 5, module_id: 13 }] },
      { type: "webhooks.replay", lots: ["msg_01a230dd-db10-75b2-b3b1-248438483ec3"], webhook_url: "https://example.org/done" },
    ],
  });
export type CreateJobBody = z.output<typeof createJobBody>;

export const rebuildItem = z.union([
  z.strictObject({ user_id: z.number().int().positive(), module_id: z.number().int().positive() }),
  z.strictObject({ course_id: z.number().int().positive() }),
]);
export const replayItem = z.string().min(1).max(200);

export const resultsQuery = z.strictObject({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const jobCreatedAnswer = z.looseObject({ job_id: z.string(), status: z.literal("queued"), total_lots: z.number().int(), status_url: z.string(), results_url: z.string() });
export const jobStatusAnswer = z.looseObject({
  job_id: z.string(),
  type: z.string(),
  status: z.enum(["queued", "running", "completed", "failed", "partially_completed"]),
  total_lots: z.number().int(),
  completed_lots: z.number().int(),
  failed_lots: z.number().int(),
  created_at: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});
export const jobResultsAnswer = z.looseObject({
  job_id: z.string(),
  status: z.string(),
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
  next_offset: z.number().int().nullable(),
  results: z.array(z.looseObject({ index: z.number().int(), status: z.string(), result: z.unknown(), error: z.string().nullable() })),
});
export const jobIdParam = z.strictObject({ id: z.string().min(1).max(200).meta({ examples: ["job_01a230da-608a-7551-8f97-b0844ecb3c9d"] }) });
