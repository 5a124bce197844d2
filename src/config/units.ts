import { z } from "zod";

// Durations and sizes are written the way ops write them ("5m", "1mb") and stored as numbers.
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i;
const SIZE_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  return m ? Math.round(Number(m[1]) * DURATION_MS[m[2]!]!) : undefined;
}

export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  return m ? Math.round(Number(m[1]) * SIZE_BYTES[(m[2] ?? "b").toLowerCase()]!) : undefined;
}

/** A duration: a number of milliseconds or a string such as "500ms", "30s", "5m", "1h", "7d". */
export const duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === "number") return v;
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `expected a duration such as 500ms, 30s, 5m, 1h or 7d, got "${v}"` });
    return z.NEVER;
  }
  return ms;
});

/** A size: a number of bytes or a string such as "512kb", "1mb". */
export const size = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  if (typeof v === "number") return v;
  const bytes = parseSize(v);
  if (bytes === undefined || bytes <= 0) {
    ctx.addIssue({ code: "custom", message: `expected a size such as 512kb or 1mb, got "${v}"` });
    return z.NEVER;
  }
  return bytes;
});

/** A list of secrets where empty strings (unset ${VAR:-}) are dropped. */
export const secretList = z.array(z.string()).transform((list) => list.filter((s) => s.length > 0));
