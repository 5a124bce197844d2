import { z } from "zod";

/** GET /health (documented in /openapi.json; feature sections are added under their names). */
export const healthAnswer = z.looseObject({
  status: z.enum(["ok", "degraded", "unavailable"]).meta({ description: "degraded when any part reports a problem (see problems); unavailable: the database is unusable (503)" }),
  problems: z.array(z.string()).meta({ description: "one line per part that is not ok, e.g. 'webhooks: degraded'" }),
  version: z.string(),
  uptime_seconds: z.number().int(),
  started_at: z.string(),
  database: z.looseObject({ ok: z.boolean(), driver: z.enum(["sqlite", "postgres"]), error: z.string().optional(), schema_version: z.number().int().optional(), last_commit_at: z.string().nullable() }),
  queue: z.looseObject({
    depth: z.record(z.string(), z.record(z.string(), z.number().int())).meta({ description: "kind → status → count (unfinished and dead jobs; on PostgreSQL every node's)" }),
    done: z.number().int(),
    running: z.number().int().meta({ description: "jobs running in this process" }),
    outcomes: z.record(z.string(), z.unknown()),
  }),
  scheduler: z.array(z.looseObject({ name: z.string(), ok: z.boolean() })),
});
