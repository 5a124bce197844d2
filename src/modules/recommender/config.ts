import { z } from "zod";
import { duration } from "../../config/units";

export const recommenderConfig = z
  .strictObject({
    /** How often the in-memory Q-tables are written to SQLite (also on shutdown). */
    snapshot_every: duration.prefault("5m"),
    /** Recommendations returned when the caller gives no ?k=. */
    top_k: z.number().int().min(1).max(50).default(3),
    /** Q-learning rate. */
    alpha: z.number().gt(0).max(1).default(0.1),
    /** Q-learning discount. */
    gamma: z.number().min(0).max(1).default(0.9),
  })
  .prefault({});
