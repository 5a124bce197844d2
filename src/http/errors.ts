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

/** True when the issue is about a value that is not there at all (a missing key). */
function isMissing(issue: z.core.$ZodIssue): boolean {
  if ("input" in issue) return issue.input === undefined;
  if (issue.code === "invalid_type") return /received undefined$/.test(issue.message);
  if (issue.code === "invalid_union") return issue.errors.length > 0 && issue.errors.every((branch) => branch.some((i) => i.path.length === 0 && isMissing(i)));
  return false;
}

/** The text of one issue: "required" for a missing value, zod's own words (without "Invalid input: ") otherwise. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
  const text = issue.message.replace(/^Invalid (input|option): /, "").replace(/, received undefined$/, "");
  if (isMissing(issue)) return text === "Invalid input" || text === "" ? "required" : `required (${text})`;
  // zod says only "Invalid input" when no member of a union matched: say what each one wanted.
  if (issue.code === "invalid_union" && text === "Invalid input" && issue.errors.length > 0) {
    const forms = issue.errors.map((branch) => branch.map((i) => (i.path.length ? `${formatPath(i.path)}: ` : "") + issueMessage(i)).join(", "));
    return `matches none of the accepted forms: ${[...new Set(forms)].map((f) => `(${f})`).join(" or ")}`;
  }
  return text;
}

export function zodProblems(error: z.ZodError, prefix = ""): FieldProblem[] {
  return error.issues.map((issue) => {
    const base = formatPath(issue.path);
    const path = prefix ? (base ? (base.startsWith("[") ? prefix + base : `${prefix}.${base}`) : prefix) : base || "(body)";
    return { path, message: issueMessage(issue) };
  });
}

/** Validates a payload with its zod schema; failures become 422 naming each field path. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = "request body"): z.output<S> {
  // reportInput lets a missing field be told apart from a wrong one ("required").
  const result = schema.safeParse(value, { reportInput: true });
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
