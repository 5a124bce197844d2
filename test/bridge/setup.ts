// A real ferry wired to a fake Zendesk and a fake Chatwoot on loopback, with their webhooks
// pointed back at ferry.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { Daemon } from "../../src/daemon";
import type { Clock } from "../../src/queue";
import { FakeChatwoot, type FakeChatwootOptions } from "../fakes/chatwoot";
import { FakeZendesk, type FakeZendeskOptions } from "../fakes/zendesk";
import { jsonRequest, startFerry, tempDir, writeConfig, type TestFerry } from "../helpers/ferry";

/** startFerry, but with ferry's JSON log written to `logFile` (to prove no secret reaches it). */
async function startFerryLogging(config: Record<string, any>, opts: { dir: string; clock?: Clock; logFile: string }): Promise<TestFerry> {
  const configPath = writeConfig(opts.dir, { ...config, log: { level: "debug" } });
  const daemon = await Daemon.start({ configPath, clock: opts.clock, logDestination: pino.destination({ dest: opts.logFile, sync: true, append: true }) });
  const url = `http://127.0.0.1:${daemon.port}`;
  return {
    daemon,
    url,
    dir: opts.dir,
    dbPath: join(opts.dir, "ferry.db"),
    configPath,
    stop: () => daemon.stop(),
    request: (method, path, o = {}) => jsonRequest(url, method, path, o),
  };
}

export const CUSTOMER = 8447388090494;
/** The bridge is signed by default: the fakes sign with these unless a test says otherwise. */
export const ZD_SIGNING_SECRET = "zd-test-signing-secret";
export const CW_WEBHOOK_SECRET = "cw-test-webhook-secret";
export const TICKET = 5158;

export interface Bridge {
  zd: FakeZendesk;
  cw: FakeChatwoot;
  ferry: TestFerry;
  dir: string;
  logDir: string;
  config: Record<string, any>;
  /** Waits until no webhook is in flight and no bridge job is waiting or running. */
  idle(timeoutMs?: number): Promise<void>;
  /** Bridge jobs by status. */
  jobs(): Array<{ id: number; status: string; attempts: number; last_error: string | null; payload: string }>;
  dayLog(): string;
  health(): Promise<any>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export function bridgeConfig(zd: FakeZendesk, cw: FakeChatwoot, logDir: string, extra: Record<string, any> = {}): Record<string, any> {
  return {
    bridge: {
      enabled: true,
      chatwoot: {
        base_url: cw.url,
        account_id: cw.accountId,
        inbox_id: cw.inboxId,
        api_token: cw.apiToken,
        webhook_secret: cw.options.webhookSecret ?? "",
        ...(extra.chatwoot ?? {}),
      },
      zendesk: { subdomain: "acme", base_url: zd.url, email: zd.email, api_token: zd.apiToken, signing_secret: zd.options.signingSecret ?? "", ...(extra.zendesk ?? {}) },
      log_dir: logDir,
      ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "chatwoot" && k !== "zendesk")),
    },
  };
}

export async function startBridge(
  opts: { zd?: FakeZendeskOptions; cw?: FakeChatwootOptions; bridge?: Record<string, any>; clock?: Clock; chatwootPath?: string; dir?: string; logFile?: string } = {},
): Promise<Bridge> {
  // Signed unless the test sets the fakes' secrets itself ("" = the fake does not sign).
  const zd = new FakeZendesk({ signingSecret: ZD_SIGNING_SECRET, ...opts.zd });
  const cw = new FakeChatwoot({ webhookSecret: CW_WEBHOOK_SECRET, ...opts.cw });
  zd.addCustomer(CUSTOMER, "Jane Customer", "jane@example.com");
  zd.addTicket(TICKET, CUSTOMER);
  const dir = opts.dir ?? tempDir("ferry-bridge-");
  const logDir = join(dir, "logs");
  const config = bridgeConfig(zd, cw, logDir, opts.bridge);
  const start = () => (opts.logFile ? startFerryLogging(config, { dir, clock: opts.clock, logFile: opts.logFile }) : startFerry(config, { dir, clock: opts.clock }));
  let ferry = await start();
  const point = () => {
    zd.webhookUrl = ferry.url + "/service-api-webhook/zendesk-webhook";
    cw.webhookUrl = ferry.url + (opts.chatwootPath ?? "/service-api-webhook/chatwoot-webhook");
  };
  point();
  const b: Bridge = {
    zd,
    cw,
    get ferry() {
      return ferry;
    },
    dir,
    logDir,
    config,
    jobs: () => ferry.daemon.store.db.prepare("SELECT id, status, attempts, last_error, payload FROM jobs WHERE kind = 'bridge.sync' ORDER BY id").all() as any,
    async idle(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let quiet = 0;
      while (quiet < 3) {
        if (Date.now() > deadline) throw new Error(`bridge not idle: ${JSON.stringify(b.jobs().filter((j) => j.status !== "done" && j.status !== "dead"))}`);
        await zd.settled();
        await cw.settled();
        const busy = b.jobs().some((j) => j.status === "queued" || j.status === "running" || j.status === "retry");
        quiet = busy ? 0 : quiet + 1;
        await Bun.sleep(15);
      }
    },
    dayLog() {
      try {
        return readdirSync(logDir)
          .sort()
          .map((f) => readFileSync(join(logDir, f), "utf8"))
          .join("");
      } catch {
        return "";
      }
    },
    async health() {
      return (await (await ferry.request("GET", "/health")).json()) as any;
    },
    async restart() {
      await ferry.stop();
      ferry = await start();
      point();
    },
    async close() {
      await ferry.stop();
      zd.close();
      cw.close();
    },
  };
  return b;
}
