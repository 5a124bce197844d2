import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { configSchema, serverConfig, type Config } from "./schema";
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
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ConfigError(missingConfigHint(path));
    throw new ConfigError(`cannot read config file ${path}: ${code ?? String(err)}`);
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

/** What to do when there is no config file: ferry never runs on silent defaults. */
export function missingConfigHint(path: string): string {
  return (
    `cannot read config file ${path}: ENOENT (no such file). Pass --config PATH or set FERRY_CONFIG. ` +
    "`ferry sample-config > config.yaml` writes the development config (dev tokens, SQLite under ./data, 127.0.0.1:8000). " +
    "The production example is systemd/config.example.yaml in the source tree."
  );
}

/** --config PATH, else FERRY_CONFIG, else ./config.yaml. */
export function resolveConfigPath(flag: string | undefined, env = process.env): string {
  // An empty FERRY_CONFIG (as systemd or a shell may leave it) means unset.
  const chosen = flag ?? (env.FERRY_CONFIG || "config.yaml");
  return isAbsolute(chosen) ? chosen : resolve(process.cwd(), chosen);
}


/** Sections that take effect only at start (the listening socket, the database file). */
export const RESTART_ONLY = ["server", "storage"] as const;

/**
 * What a reload applies: the new config with the running `server.*` and `storage.*` kept (so
 * /api/v1/config shows what the process really uses), and the keys that changed in the file
 * but need a restart.
 */
export function reloadable(running: Config, next: Config): { config: Config; restartNeeded: string[] } {
  const restartNeeded: string[] = [];
  for (const section of RESTART_ONLY) {
    const before = running[section] as Record<string, unknown>;
    const after = next[section] as Record<string, unknown>;
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) restartNeeded.push(`${section}.${key}`);
    }
  }
  return { config: { ...next, server: running.server, storage: running.storage }, restartNeeded };
}

/**
 * Where a config's daemon listens, for clients such as `ferry status`: only `server` is read and
 * validated, and an unset ${VAR} is empty (an operator's shell lacks the daemon's secrets).
 */
export function loadServerAddress(path: string, env: Record<string, string | undefined> = process.env): { host: string; port: number } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === "ENOENT" ? missingConfigHint(path) : `cannot read config file ${path}: ${code ?? String(err)}`);
  }
  const lenient = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => env[name] || (fallback ?? ""));
  let raw: { server?: unknown } | null;
  try {
    raw = Bun.YAML.parse(lenient) as { server?: unknown } | null;
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  const result = serverConfig.safeParse(raw?.server ?? {}, { reportInput: true });
  if (!result.success) {
    const problems = describeIssues(result.error).map((p) => `server.${p}`);
    throw new ConfigError(`${path}: invalid config: ${problems.join("; ")}`, problems);
  }
  return result.data;
}
