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
import { allMigrations, allPgMigrations, createFeatures } from "./modules";
import { Queue, systemClock, type Clock } from "./queue";
import { Scheduler } from "./scheduler";
import type { Store } from "./store/db";
import { inBatches } from "./store/in-batches";
import { openStorage, StorageOpenError } from "./store/open-storage";
import { NoPgImplementation, type Storage } from "./store/storage";
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
    readonly storage: Storage,
    readonly ctx: AppContext,
    readonly health: HealthService,
    readonly modules: FeatureModule[],
  ) {}

  /** The SQLite store (tests); there is none on PostgreSQL. */
  get store(): Store {
    return this.ctx.store;
  }

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
    const log = createLogger(config.log.level, options.logDestination);
    const clock = options.clock ?? systemClock;
    // The node id from the configured port (with port 0: the pid), so features get it before the server listens.
    const nodeId = nodeIdOf(config);
    let storage: Storage;
    try {
      storage = await openStorage(config, { sqlite: allMigrations, postgres: allPgMigrations }, { nodeId, log, clock });
    } catch (err) {
      if (err instanceof StorageOpenError) throw new StartError(err.message);
      throw err;
    }
    const { driver } = storage;
    const queue = storage.queue as Queue;
    const scheduler = new Scheduler(log.child({ component: "scheduler" }));
    const metrics = new Metrics();
    const bus = new EventBus(storage.kind === "sqlite" ? storage.store : null, log.child({ component: "bus" }));

    let daemon!: Daemon;
    const early = { config };
    const shutdownTasks: Array<() => unknown> = [];
    const reloadListeners: Array<(next: Config, prev: Config) => void> = [];
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
    // Before anything acts under the node id (shards and the leader row are keyed by it).
    try {
      await membership.claimNodeId();
    } catch (err) {
      await closeStorage(storage);
      throw err;
    }
    const ctx: AppContext = {
      version: VERSION,
      startedAt: Date.now(),
      // Before the Daemon object exists (module construction) the loaded config is current.
      config: () => (daemon ? daemon.current : early.config),
      storage,
      get store(): Store {
        if (storage.kind === "sqlite") return storage.store;
        throw new NoPgImplementation("this code path (ctx.store is the SQLite store)");
      },
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
    daemon = new Daemon(shutdownTasks, reloadListeners, options, config, log, storage, ctx, health, modules);

    const app = buildApp(ctx, health, modules);
    try {
      daemon.server = serveApp(app, {
        hostname: config.server.host,
        port: config.server.port,
        bodyLimit: () => daemon.current.server.body_limit,
        metrics,
      });
    } catch (err) {
      await closeStorage(storage);
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
    const where = storage.kind === "sqlite" ? { db: config.storage.path, durability: config.storage.durability } : { schema: config.storage.schema };
    log.info({ version: VERSION, url: daemon.url, driver: storage.kind, node_id: nodeId, ...where }, "ferry started");
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
      await closeStorage(this.storage);
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

/** Commits what is queued and closes the database. */
async function closeStorage(storage: Storage): Promise<void> {
  if (storage.kind === "sqlite") {
    await storage.store.drain();
    storage.store.close();
  } else {
    await storage.driver.close();
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
      await inBatches((limit) => ctx.storage.driver.deleteFinished(before, limit));
    },
  });
  const storage = ctx.storage;
  // PostgreSQL checkpoints by itself; the SQLite WAL is truncated on this schedule.
  if (storage.kind === "sqlite") ctx.scheduler.add({ name: "store.checkpoint", pattern: cfg.storage.checkpoint_cron, run: () => storage.store.checkpoint() });
}
