import { z } from "zod";

export const jobListQuery = z.strictObject({
  status: z.enum(["queued", "running", "retry", "done", "dead"]).optional(),
  kind: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  /** Return jobs with an id below this one (paging backwards from the newest). */
  before: z.coerce.number().int().positive().optional(),
});

export const jobIdParams = z.strictObject({ id: z.coerce.number().int().positive().meta({ examples: ["1"] }) });

/** POST /api/v1/queue/replay: every dead job of one kind back to the queue. */
export const replayKindBody = z.strictObject({ kind: z.string().min(1).max(200) }).meta({ examples: [{ kind: "bridge.sync" }] });

// Answers (documented in /openapi.json).
export const jobAnswer = z.looseObject({
  id: z.number().int(),
  kind: z.string(),
  status: z.enum(["queued", "running", "retry", "done", "dead"]),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  run_at: z.string(),
  last_error: z.string().nullable(),
  dedupe_key: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  payload: z.unknown().optional(),
  result: z.unknown().optional(),
});
export const jobListAnswer = z.looseObject({ jobs: z.array(jobAnswer), next_before: z.number().int().nullable().meta({ description: "pass as ?before= for the next page" }) });
export const replayKindAnswer = z.looseObject({ kind: z.string(), replayed: z.array(z.number().int()) });
export const configAnswer = z.record(z.string(), z.unknown()).meta({ description: "the running config (server, storage, auth, …), secrets masked as ***" });
