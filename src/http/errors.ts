import { z } from "zod";

export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

/** An error with an HTTP status that reaches the client as the shared envelope. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string, details: unknown = null): ErrorBody {
  return { error: { code, message, details } };
}

export function errorResponse(status: number, code: string, message: string, details: unknown = null, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(errorBody(code, message, details)), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** 413 for a body past the limit (counted in bytes). */
export function tooLarge(limit: number): HttpError {
  return new HttpError(413, "payload_too_large", `request body exceeds the limit of ${limit} bytes`, { limit });
}

/** `logs[3].timecreated` — the path notation our error messages use. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

export interface FieldProblem {
  path: string;
  message: string;
}

export function zodProblems(error: z.ZodError, prefix = ""): FieldProblem[] {
  return error.issues.map((issue) => {
    const base = formatPath(issue.path);
    const path = prefix ? (base ? (base.startsWith("[") ? prefix + base : `${prefix}.${base}`) : prefix) : base || "(body)";
    const message =
      issue.code === "unrecognized_keys"
        ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`
        : issue.message.replace(/^Invalid input: /, "");
    return { path, message };
  });
}

/** Validates a payload with its zod schema; failures become 422 naming each field path. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = "request body"): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = zodProblems(result.error);
  const first = problems[0]!;
  throw new HttpError(
    422,
    "validation_failed",
    `invalid ${what}: ${first.path}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}`,
    problems,
  );
}
