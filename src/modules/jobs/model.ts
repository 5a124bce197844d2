import { z } from "zod";

export const JOB_TYPES = ["moodle.import", "recommendations.rebuild", "webhooks.replay"] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** POST /api/v1/jobs (`lots` is the older name of `items`; `signature` is the older clients' body signature). */
export const createJobBody = z
  .strictObject({
    type: z.string().min(1),
    items: z.array(z.unknown()).min(1, "expected at least one item").optional(),
    lots: z.array(z.unknown()).min(1, "expected at least one item").optional(),
    webhook_url: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).optional(),
    options: z.record(z.string(), z.unknown()).optional(),
    signature: z.string().optional(),
  })
  .superRefine((b, ctx) => {
    if (!b.items && !b.lots) ctx.addIssue({ code: "custom", path: ["items"], message: "required (an array of items; `lots` is accepted as an alias)" });
    if (b.items && b.lots) ctx.addIssue({ code: "custom", path: ["lots"], message: "send either items or lots, not both" });
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
