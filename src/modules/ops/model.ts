import { z } from "zod";

export const jobListQuery = z.strictObject({
  status: z.enum(["queued", "running", "retry", "done", "dead"]).optional(),
  kind: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** Return jobs with an id below this one (paging backwards from the newest). */
  before: z.coerce.number().int().positive().optional(),
});

export const jobIdParams = z.strictObject({ id: z.coerce.number().int().positive() });

/** POST /api/v1/queue/replay: every dead job of one kind back to the queue. */
export const replayKindBody = z.strictObject({ kind: z.string().min(1).max(200) });
