// A ferry node on PostgreSQL as far as the webhooks feature needs one: the AppContext the daemon
// builds (PostgresDriver with every PostgreSQL migration, Queue<PgTx>, the bus without a SQLite
// store, `ctx.store` throwing), the webhooks module, and its routes on a real HTTP server.
// Until `ferry serve` boots on PostgreSQL this is how the PostgreSQL webhooks tests run.
import pino from "pino";
import { buildApp } from "../../src/app";
import { parseConfig } from "../../src/config/load";
import type { Config } from "../../src/config/schema";
import type { AppContext } from "../../src/context";
import { EventBus } from "../../src/events/bus";
import { serveApp } from "../../src/http/server";
import { Metrics } from "../../src/http/metrics";
import { HealthService } from "../../src/modules/health/service";
import { allPgMigrations } from "../../src/modules";
import { createWebhooksModule, type WebhooksModule } from "../../src/modules/webhooks/module";
import { Queue, systemClock, type Clock } from "../../src/queue";
import { Scheduler } from "../../src/scheduler";
import { ShardOwner } from "../../src/cluster/shards";
import { openDriver } from "../../src/store/driver/open";
import type { PostgresDriver } from "../../src/store/driver/postgres";
import type { PgTx } from "../../src/store/postgres/client";
import type { Store } from "../../src/store/db";
import { jsonRequest } from "../helpers/ferry";

export interface PgNode {
  ctx: AppContext;
  driver: PostgresDriver;
  module: WebhooksModule;
  url: string;
  request(method: string, path: string, opts?: { body?: unknown; token?: string }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startPgNode(opts: { url: string; schema: string; nodeId: string; config: Record<string, unknown>; clock?: Clock }): Promise<PgNode> {
  const config: Config = parseConfig({ ...opts.config, storage: { driver: "postgres", url: opts.url, schema: opts.schema } });
  const log = pino({ level: process.env.FERRY_TEST_LOG ?? "silent" });
  const driver = await openDriver({ driver: "postgres", url: opts.url, schema: opts.schema, pool: 4, nodeId: opts.nodeId, migrations: allPgMigrations });
  const clock = opts.clock ?? systemClock;
  const queue = new Queue<PgTx>(driver, { log, clock, leaseMs: config.queue.lease });
  const scheduler = new Scheduler(log);
  const metrics = new Metrics();
  const shutdown: Array<() => unknown> = [];
  const shards = new ShardOwner(driver, { nodeId: opts.nodeId, shards: config.cluster.shards, ttlMs: config.cluster.leader_ttl, clock, log });
  const ctx: AppContext = {
    version: opts.nodeId, // the User-Agent names the node that sent a delivery
    startedAt: Date.now(),
    config: () => config,
    storage: { kind: "postgres", driver, queue },
    get store(): Store {
      throw new Error("ctx.store read on PostgreSQL (a code path not ported)");
    },
    queue: queue as unknown as Queue,
    scheduler,
    bus: new EventBus(null, log),
    metrics,
    log,
    clock,
    capabilities: {},
    cluster: {
      nodeId: opts.nodeId,
      shards,
      status: () => ({ driver: "postgres", node_id: opts.nodeId, leader: null, is_leader: false, peers: [], owned_shards: [], last_heartbeat_at: null }),
    },
    addHealth: (name, section) => health.add(name, section),
    onReload: () => {},
    onShutdown: (t) => void shutdown.push(t),
  };
  const health = new HealthService(ctx);
  const module = createWebhooksModule(ctx);
  const server = serveApp(buildApp(ctx, health, [module]), { hostname: "127.0.0.1", port: 0, bodyLimit: () => config.server.body_limit, metrics });
  await driver.ready();
  module.start!();
  const url = `http://127.0.0.1:${server.port}`;
  return {
    ctx,
    driver,
    module,
    url,
    request: (method, path, o = {}) => jsonRequest(url, method, path, o),
    async stop() {
      server.stop(true);
      for (const t of shutdown) await t();
      await driver.close();
    },
  };
}
