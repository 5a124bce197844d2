import { parseArgs } from "node:util";
import { loadConfig } from "../config/load";
import { displayUrl, maskSecrets } from "../config/mask";
import { nodeIdOf, type Config } from "../config/schema";
import { UsageError } from "./common";

const DEV_TOKENS = new Set(["dev-api-token", "dev-moodle-token"]);

function bytes(n: number): string {
  return n >= 1 << 20 && n % (1 << 20) === 0 ? `${n / (1 << 20)} MB` : n >= 1024 && n % 1024 === 0 ? `${n / 1024} KB` : `${n} bytes`;
}

function tokens(list: string[], env: string): string {
  if (list.length === 0) return "none (those routes refuse every request)";
  const dev = list.filter((t) => DEV_TOKENS.has(t)).length;
  return `${list.length} token${list.length === 1 ? "" : "s"}${dev ? ` — DEVELOPMENT default in use: set ${env} for anything but local use` : ""}`;
}

/** One line per part, for a person reading a terminal or the journal (ExecStartPre). */
export function configSummary(c: Config): string[] {
  const subs = c.webhooks.subscribers;
  const active = subs.filter((s) => s.enabled && s.url);
  const targets = c.webhooks.allow_private_targets ? "private targets allowed" : c.webhooks.allowed_targets.length ? `private targets refused except ${c.webhooks.allowed_targets.join(", ")}` : "private targets refused";
  const bridge = c.bridge.enabled
    ? `enabled: Zendesk ${c.bridge.zendesk.base_url || `${c.bridge.zendesk.subdomain}.zendesk.com`} ↔ Chatwoot ${c.bridge.chatwoot.base_url} inbox ${c.bridge.chatwoot.inbox_id}; day files in ${c.bridge.log_dir}`
    : "disabled (both webhook endpoints answer 503)";
  const rows: Array<[string, string]> = [
    ["server", `listens on ${c.server.host}:${c.server.port}, body limit ${bytes(c.server.body_limit)}`],
    ["storage", c.storage.driver === "postgres" ? `PostgreSQL ${displayUrl(c.storage.url!)} schema ${c.storage.schema}, pool ${c.storage.pool}, node ${nodeIdOf(c)}` : `${c.storage.path} (durability ${c.storage.durability})`],
    ["auth", `API: ${tokens(c.auth.api_tokens, "FERRY_API_TOKEN")}`],
    ["moodle", tokens(c.moodle.tokens, "FERRY_MOODLE_TOKEN")],
    ["recommender", `top ${c.recommender.top_k}, snapshot every ${c.recommender.snapshot_every / 1000}s`],
    ["webhooks", `${active.length} of ${subs.length} subscriber${subs.length === 1 ? "" : "s"} active${active.length ? ` (${active.map((s) => s.id).join(", ")})` : ""}; ${targets}`],
    ["jobs", c.jobs.secret ? "requests must be signed (jobs.secret set)" : "requests need the API token (no jobs.secret)"],
    ["bridge", bridge],
    ["log", c.log.level],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}

/** Validates the file; prints a readable summary, or with --json the effective config with secrets masked. */
export function checkConfig(configPath: string, argv: string[] = []): void {
  let json = false;
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { config: { type: "string", short: "c" }, json: { type: "boolean" } } });
    if (positionals.length > 1) throw new Error(`unexpected argument "${positionals[1]}"`);
    json = values.json === true;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const config = loadConfig(configPath);
  if (json) return void console.log(JSON.stringify({ valid: true, path: configPath, config: maskSecrets(config) }, null, 2));
  console.log(`ferry: ${configPath} is valid`);
  for (const line of configSummary(config)) console.log(line);
  console.log("(ferry check-config --json prints the whole effective config, secrets masked)");
}
