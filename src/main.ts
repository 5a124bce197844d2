#!/usr/bin/env bun
import { parseArgs } from "node:util";
import { resolveConfigPath } from "./config/load";
import { checkConfig } from "./cli/check-config";
import { fail, UsageError } from "./cli/common";
import { migrate } from "./cli/migrate";
import { serve } from "./cli/serve";
import { VERSION } from "./version";

const HELP = `ferry ${VERSION} — event hub for Moodle, outgoing webhooks and the Zendesk/Chatwoot bridge

Usage: ferry [command] [--config PATH]
From a clone, before any build: npm run ferry -- <command> … (e.g. npm run ferry -- import FILE)

Commands:
  serve           run the daemon (default)
  status          the running ferry's health, one line per part (exit 0 ok, 1 degraded, 69 unreachable)
                  [--url URL] [--json]
  check-config    validate the config file and print a summary [--json: the whole config, secrets masked]
  sample-config   print the development config (what config.yaml in the source tree holds)
  migrate         apply database migrations (SQLite or PostgreSQL, per storage.driver) and exit
  move-to-postgres  copy the SQLite database at storage.path into PostgreSQL at storage.url
                  (idempotent: run it again after an interruption) [--batch N] [--quiet]
  import FILE     load a Moodle logstore CSV export or observer JSONL through the pipeline
                  [--course-structure FILE] [--course-id N] [--batch N] [--quiet]
  evaluate FILE   offline evaluation, the move protocol: HR@k, NDCG@k, coverage vs popularity, successor, random
                  [--course-structure FILE] [--split-at ISO | --split-fraction 0.5] [--k N] [--seed N] [--json]
  version         print the version
  help            this text

Options:
  -c, --config PATH   config file (default: $FERRY_CONFIG, else ./config.yaml)
  -h, --help          this text

Exit codes: 0 ok, 1 failure, 64 usage, 69 port unavailable, 73 database cannot be opened, 75 database in use by another ferry, 78 bad config.`;

type Command = (configPath: string, argv: string[]) => unknown;

// Commands that take options of their own parse the whole argv strictly themselves; the rest
// accept only --config and --help, and an unknown option is a usage error.
const commands: Record<string, Command> = {
  serve: (path) => serve(path),
  "check-config": (path, argv) => checkConfig(path, argv),
  status: (path, argv) => import("./cli/status").then((m) => m.statusCommand(path, argv)),
  "sample-config": () => import("./cli/sample-config").then((m) => m.sampleConfig()),
  migrate: (path) => migrate(path),
  import: (path, argv) => import("./cli/import").then((m) => m.importCommand(path, argv)),
  evaluate: (path, argv) => import("./cli/evaluate").then((m) => m.evaluateCommand(path, argv)),
  "move-to-postgres": (path, argv) => import("./cli/move-to-postgres").then((m) => m.moveToPostgresCommand(path, argv)),
  version: () => console.log(VERSION),
  help: () => console.log(HELP),
};
const OWN_OPTIONS = new Set(["import", "evaluate", "check-config", "status", "move-to-postgres"]);

const COMMON = { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "v" } } as const;

async function main(argv: string[]): Promise<void> {
  let name = "serve";
  let configFlag: string | undefined;
  try {
    // First pass: find the command and --config without judging the command's own options.
    const loose = parseArgs({ args: argv, allowPositionals: true, strict: false, options: COMMON });
    if (loose.values.help) return void console.log(HELP);
    if (loose.values.version && loose.positionals.length === 0) return void console.log(VERSION);
    name = loose.positionals[0] ?? "serve";
    if (!OWN_OPTIONS.has(name)) {
      const strict = parseArgs({ args: argv, allowPositionals: true, strict: true, options: COMMON });
      if (strict.positionals.length > 1) throw new Error(`unexpected argument "${strict.positionals[1]}"`);
    }
    if (typeof loose.values.config === "string") configFlag = loose.values.config;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  await command(resolveConfigPath(configFlag), argv);
}

main(process.argv.slice(2)).catch(fail);
