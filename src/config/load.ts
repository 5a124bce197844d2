import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { configSchema, type Config } from "./schema";
import { formatPath, issueMessage } from "../http/errors";

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

/** Replaces ${VAR} and ${VAR:-default}; an unset ${VAR} without default is an error naming it. */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  const missing: string[] = [];
  const out = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => {
    const value = env[name];
    if (value !== undefined && value !== "") return value;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return "";
  });
  if (missing.length) {
    throw new ConfigError(`environment variable ${missing.map((m) => "${" + m + "}").join(", ")} is not set (use \${NAME:-default} for an optional value)`);
  }
  return out;
}

function pathOf(path: PropertyKey[]): string {
  return formatPath(path) || "(root)";
}

/** One line per problem: "server.port: expected number, received string", "bridge.zendesk.email: required". */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = pathOf(issue.path);
    if (issue.code === "unrecognized_keys") {
      return `${where}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    }
    return `${where}: ${issueMessage(issue)}`;
  });
}

export function parseConfig(raw: unknown): Config {
  const result = configSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!result.success) {
    const problems = describeIssues(result.error);
    throw new ConfigError(`invalid config: ${problems.join("; ")}`, problems);
  }
  return result.data;
}

/** Reads, interpolates, parses and validates a YAML config. Relative storage paths stay relative to the working directory. */
export function loadConfig(path: string, env: Record<string, string | undefined> = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = Bun.YAML.parse(interpolate(text, env));
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`);
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== "object" || Array.isArray(raw))) {
    throw new ConfigError(`${path}: expected a YAML mapping at the top level`);
  }
  try {
    return parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${path}: ${err.message}`, err.problems);
    throw err;
  }
}

/** --config PATH, else FERRY_CONFIG, else ./config.yaml. */
export function resolveConfigPath(flag: string | undefined, env = process.env): string {
  const chosen = flag ?? env.FERRY_CONFIG ?? "config.yaml";
  return isAbsolute(chosen) ? chosen : resolve(process.cwd(), chosen);
}

