import { z } from "zod";

// Path and query parameters of the recommender routes (numbers arrive as strings).
const id = z.string().regex(/^-?\d+$/, "expected an integer id").transform(Number);

export const oneParams = z.object({ userId: id, moduleId: id });
export const userParams = z.object({ userId: id });
export const recQuery = z.looseObject({
  course_id: id.optional(),
  k: z.string().regex(/^\d+$/, "expected a positive integer").transform(Number).pipe(z.number().int().min(1).max(10, "at most 10")).optional(),
});
export const qtableQuery = z.looseObject({ course_id: id.optional() });
export const rebuildBody = z.strictObject({ user_id: z.number().int().optional(), module_id: z.number().int().optional(), course_id: z.number().int().optional() });
