import type { Server } from "bun";
import type { Logger } from "pino";
import pino from "pino";
import { buildApp } from "./app";
import { serveApp } from "./http/server";
import { loadConfig, reloadable } from "./config/load";
import type { Config } from "./config/schema";
import type { AppContext, FeatureModule } from "./context";
import { EventBus } from "./events/bus";
import { Metrics } from "./http/metrics";
import { createLogger } from "./log/logger";
import { HealthService } from "./modules/health/service";
import { allMigrations, createFeatures } from "./modules";
import { deleteFinishedJobs, Queue, systemClock, type Clock } from "./queue";
import { Scheduler } from "./scheduler";
import { openStore, type Store } from "./store/db";
import { SqliteDriver } from "./store/driver/sqlite";
import { clusterMetrics, Membership } from "./cluster/membership";
import { ShardOwner } from "./cluster/shards";
import { nodeIdOf } from "./config/schema";
import { VERSION } from "./version";

export interface DaemonOptions {
  configPath: string;
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** Where logs go (tests pass a stream); default stdout. */
  logDestination?: pino.DestinationStream;
  /** Install SIGHUP/SIGTERM/SIGINT handlers (the CLI does; in-process tests don't). */
  signals?: boolean;
  /** Override config values after loading (tests: port 0). */
  override?: (config: Config) => Config;
}

export class StartError extends Error {}

/** One running ferry: config, store, queue, scheduler, feature modules and the HTTP server. */
export class Daemon {
  server: Server<unknown> | null = null;
  private stopping: Promise<void> | null = null;
  private constructor(
    private shutdownTasks: Array<() => unknown>,
    private reloadListeners: Array<(next: Config, prev: Config) => void>,
    private options: DaemonOptions,
    private current: Config,
    readonly log: Logger,
    readonly store: Store,
    readonly ctx: AppContext,
    readonly health: HealthService,
    readonly modules: FeatureModule[],
  ) {}

  get port(): number {
    return this.server?.port ?? 0;
  }

  get url(): string {
    return `http://${this.current.server.host}:${this.port}`;
  }

  config(): Config {
    return this.current;
  }

  static async start(options: DaemonOptions): Promise<Daemon> {
    let config = loadConfig(options.configPath, options.env ?? process.env);
    if (options.override) config = options.override(config);
    if (config.storage.driver === "postgres") {
      // The queue and store run on PostgreSQL (src/store/driver); the feature tables do not yet.
      throw new StartError('storage.driver postgres: `ferry serve` cannot run on PostgreSQL yet (the feature tables are not ported; see README "Scale out"). `ferry migrate` and `ferry move-to-postgres` work; use storage.driver sqlite to serve');
    }
    const log = createLogger(config.log.level, options.logDestination);
    const store = openStore({ path: config.storage.path, durability: config.storage.durability, busyTimeoutMs: config.storage.busy_timeout, lock: "serve" }, allMigrations);
    const clock = options.clock ?? systemClock;
    const driver = new SqliteDriver(store);
    const queue = new Queue(driver, { log: log.child({ component: "queue" }), clock, leaseMs: config.queue.lease });
    const scheduler = new Scheduler(log.child({ component: "scheduler" }));
    const metrics = new Metrics();
    const bus = new EventBus(store, log.child({ component: "bus" }));

    let daemon!: Daemon;
    const early = { config };
    const shutdownTasks: Array<() => unknown> = [];
    const reloadListeners: Array<(next: Config, prev: Config) => void> = [];
    // The node id from the configured port (with port 0: the pid), so features get it before the server listens.
    const nodeId = nodeIdOf(config);
    const shards = new ShardOwner(driver, { nodeId, shards: config.cluster.shards, ttlMs: config.cluster.leader_ttl, clock, log: log.child({ component: "shards" }) });
    const membership = new Membership(driver, {
      nodeId,
      shards,
      heartbeatMs: config.cluster.heartbeat,
      ttlMs: config.cluster.leader_ttl,
      clock,
      log: log.child({ component: "cluster" }),
      info: () => ({ url: daemon.url, version: VERSION }),
    });
    const ctx: AppContext = {
      version: VERSION,
      startedAt: Date.now(),
      // Before the Daemon object exists (module construction) the loaded config is current.
      config: () => (daemon ? daemon.current : early.config),
      storage: { kind: "sqlite", store, driver, queue },
      store,
      queue,
      scheduler,
      bus,
      metrics,
      log,
      clock,
      capabilities: {},
      cluster: { nodeId, shards, status: () => membership.status() },
      addHealth: (name, section) => health.add(name, section),
      onReload: (l) => void reloadListeners.push(l),
      onShutdown: (t) => void shutdownTasks.push(t),
    };
    const health = new HealthService(ctx);
    metrics.addCollector(() => health.queueMetrics());
    registerCoreMaintenance(ctx);
    const modules = createFeatures(ctx);
    daemon = new Daemon(shutdownTasks, reloadListeners, options, config, log, store, ctx, health, modules);

    const app = buildApp(ctx, health, modules);
    try {
      daemon.server = serveApp(app, {
        hostname: config.server.host,
        port: config.server.port,
        bodyLimit: () => daemon.current.server.body_limit,
        metrics,
      });
    } catch (err) {
      store.close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") throw new StartError(`port ${config.server.port} on ${config.server.host} is already in use (server.port)`);
      if (code === "EACCES") throw new StartError(`not allowed to listen on ${config.server.host}:${config.server.port} (server.port below 1024 needs privileges)`);
      throw new StartError(`cannot listen on ${config.server.host}:${config.server.port}: ${(err as Error).message}`);
    }
    for (const m of modules) m.start?.();
    queue.start();
    await membership.start();
    scheduler.setLeaderGate(() => membership.isLeader);
    // First in the shutdown tasks: the leader row is handed over before anything else stops.
    shutdownTasks.unshift(() => membership.stop());
    health.add("cluster", () => ({ ok: !membership.status().error, ...membership.status() }));
    metrics.addCollector(() => clusterMetrics(membership.status()).join("\n"));
    scheduler.start();
    if (options.signals) daemon.installSignals();
    log.info({ version: VERSION, url: daemon.url, db: config.storage.path, durability: config.storage.durability }, "ferry started");
    return daemon;
  }

  /** Re-reads the config file; an invalid file keeps the running config and logs why. */
  reload(): boolean {
    let next: Config;
    try {
      next = loadConfig(this.options.configPath, this.options.env ?? process.env);
      if (this.options.override) next = this.options.override(next);
    } catch (err) {
      this.log.error({ error: (err as Error).message }, "config reload failed; keeping the running config");
      return false;
    }
    const prev = this.current;
    const { config, restartNeeded } = reloadable(prev, next);
    next = config;
    this.current = next;
    this.log.level = next.log.level;
    for (const l of this.reloadListeners) {
      try {
        l(next, prev);
      } catch (err) {
        this.log.error({ err }, "a reload listener failed");
      }
    }
    if (restartNeeded.length) {
      this.log.warn({ keys: restartNeeded }, `restart needed: ${restartNeeded.join(", ")} changed in the config file; ferry keeps running with the old values until restarted (systemctl restart ferry)`);
    }
    this.log.info("config reloaded");
    return true;
  }

  /** Graceful stop: no new requests or claims, in-flight jobs get the deadline, then shutdown tasks and close. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info("ferry stopping");
      this.server?.stop(false);
      this.ctx.scheduler.stop();
      await this.ctx.queue.stop(this.current.server.shutdown_timeout);
      for (const t of this.shutdownTasks) {
        try {
          await t();
        } catch (err) {
          this.log.error({ err }, "a shutdown task failed");
        }
      }
      await this.store.drain();
      this.store.close();
      this.log.info("ferry stopped");
      this.log.flush?.();
    })();
    return this.stopping;
  }

  private installSignals(): void {
    process.on("SIGHUP", () => this.reload());
    const exit = (signal: string) => {
      this.log.info({ signal }, "shutdown requested");
      void this.stop().then(() => process.exit(0));
    };
    process.on("SIGTERM", () => exit("SIGTERM"));
    process.on("SIGINT", () => exit("SIGINT"));
  }
}

/** The queue's and store's own maintenance services. */
function registerCoreMaintenance(ctx: AppContext): void {
  const cfg = ctx.config();
  ctx.scheduler.add({
    name: "queue.rescuer",
    pattern: cfg.queue.maintenance_cron,
    leaderOnly: true,
    run: async () => {
      await ctx.queue.recover();
      ctx.queue.wakeAll();
    },
  });
  ctx.scheduler.add({
    name: "queue.cleaner",
    pattern: cfg.queue.retention_cron,
    leaderOnly: true,
    run: async () => {
      const before = ctx.clock.now() - ctx.config().queue.retention;
      // Small batches, each its own commit, so request writes never wait long.
      for (let i = 0; i < 1000; i++) {
        const n = await ctx.store.write((db) => deleteFinishedJobs(db, before, 500));
        if (n < 500) break;
      }
    },
  });
  ctx.scheduler.add({ name: "store.checkpoint", pattern: cfg.storage.checkpoint_cron, run: () => ctx.store.checkpoint() });
}
