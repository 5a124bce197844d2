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

Commands:
  serve           run the daemon (default)
  check-config    validate the config file and print it with secrets masked
  migrate         apply database migrations and exit
  import FILE     load a Moodle logstore CSV export or observer JSONL through the pipeline
                  [--course-structure FILE] [--course-id N] [--batch N] [--quiet]
  evaluate FILE   offline evaluation (time split): HR@k, NDCG@k, coverage vs popularity and random
                  [--course-structure FILE] [--split-at ISO | --split-fraction 0.5] [--k N] [--seed N] [--json]
  version         print the version
  help            this text

Options:
  -c, --config PATH   config file (default: $FERRY_CONFIG, else ./config.yaml)
  -h, --help          this text

Exit codes: 0 ok, 1 failure, 64 usage, 69 port unavailable, 73 data dir not writable, 78 bad config.`;

type Command = (configPath: string, args: string[]) => unknown;

const commands: Record<string, Command> = {
  serve: (path) => serve(path),
  "check-config": (path) => checkConfig(path),
  migrate: (path) => migrate(path),
  // These take their own options, so they read the full argv (the generic parse above drops unknown ones).
  import: (path) => import("./cli/import").then((m) => m.importCommand(path, process.argv.slice(2))),
  evaluate: (path) => import("./cli/evaluate").then((m) => m.evaluateCommand(path, process.argv.slice(2))),
  version: () => console.log(VERSION),
  help: () => console.log(HELP),
};

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: false,
      options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "v" } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help) return void console.log(HELP);
  if (parsed.values.version) return void console.log(VERSION);
  const [name = "serve", ...rest] = parsed.positionals;
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  const configFlag = typeof parsed.values.config === "string" ? parsed.values.config : undefined;
  await command(resolveConfigPath(configFlag), rest);
}

main(process.argv.slice(2)).catch(fail);
