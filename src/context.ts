import type { Db } from "./store/sqlite";
import type { AnyElysia } from "elysia";
import type { Logger } from "pino";
import type { Config } from "./config/schema";
import type { DeliveryListFilter, deliveriesInWindow } from "./modules/webhooks/listing";
import type { EventBus } from "./events/bus";
import type { Metrics } from "./http/metrics";
import type { Clock, Queue } from "./queue";
import type { Scheduler } from "./scheduler";
import type { Store } from "./store/db";
import type { ClusterStatus } from "./cluster/membership";
import type { ShardOwner } from "./cluster/shards";
import type { Storage, WriteTx } from "./store/storage";
import type { TxResult } from "./store/driver/types";

/** A rebuild's result: answers refreshed; on PostgreSQL "accepted" with the requests their course owners have not done yet. */
export type RebuildOutcome = { refreshed: number } | { refreshed: number; status: "accepted"; pending: Array<{ rebuild_id: number; course_id: number; shard: number }>; message: string };

/** What a feature module may contribute to GET /health (a section under its name); on PostgreSQL its reads may make it a promise. */
export type HealthSection = () => HealthSectionValue | Promise<HealthSectionValue>;
export type HealthSectionValue = { ok?: boolean } & Record<string, unknown>;

/**
 * Services one feature offers another (the jobs API runs Moodle imports and recommendation
 * rebuilds when those features are present). A feature sets its entries in its factory.
 */
export interface Capabilities {
  /** Ingests Moodle log rows through the live pipeline (same code as POST /webhook/moodle-events). */
  moodleIngest?: (logs: unknown[]) => Promise<{ accepted: number; duplicates: number }>;
  /** Recomputes stored recommendations for {user_id, module_id} or a whole {course_id}. */
  recommendationsRebuild?: (item: { user_id?: number; module_id?: number; course_id?: number }) => Promise<RebuildOutcome>;
  /** The webhooks feature's read views for the console: deliveries of any status, and the backlog now. */
  webhooks?: {
    deliveriesInWindow(q: DeliveryListFilter): Promise<ReturnType<typeof deliveriesInWindow>>;
    /** Synchronous (the console samples it every 5 s); on PostgreSQL from counts the engine keeps fresh. */
    backlog(): DeliveryBacklog;
  };
  /**
   * The recommender's course model, for the moodle feature's structure routes and staff
   * enrolments (called inside the moodle feature's write transaction).
   */
  courseModel?: {
    /** `tx` is the caller's write on either driver; on PostgreSQL the result is a promise. */
    applyStructure(tx: WriteTx, courseId: number, contents: unknown[], now: number): TxResult<Record<string, unknown>>;
    readStructure(courseId: number): Record<string, unknown> | Promise<Record<string, unknown>>;
    staffEnrolled(tx: WriteTx, courseId: number, userId: number): TxResult<void>;
  };
}

/** Deliveries waiting, in flight and dead, and attempts finished by this process (counters). */
export interface DeliveryBacklog {
  waiting: number;
  running: number;
  dead: number;
  delivered_total: number;
  failed_total: number;
}

/** This node in the cluster (alone on SQLite: it owns every shard, at epoch 0). */
export interface ClusterContext {
  nodeId: string;
  /** Course shards: shardOfCourse(courseId, n) → shards.epochOf(shard) is non-null where this node may keep that course's state. */
  shards: ShardOwner;
  status(): ClusterStatus;
}

/** Everything a feature module gets: shared services, never Elysia's request context. */
export interface AppContext {
  version: string;
  startedAt: number;
  /** The current config (replaced on SIGHUP); read it when needed rather than caching values. */
  config(): Config;
  /** The database this process runs on; features choose their SQL by `storage.kind`. */
  storage: Storage;
  /** The SQLite store (storage.kind "sqlite" only): reading it on PostgreSQL throws, naming the caller's path as not ported. */
  store: Store;
  /**
   * The job queue typed for SQLite. On PostgreSQL it is a Queue<PgTx>: register kinds and make
   * transaction-scoped calls through `storage.queue`, which is typed per driver.
   */
  queue: Queue;
  scheduler: Scheduler;
  bus: EventBus;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
  capabilities: Capabilities;
  cluster: ClusterContext;
  addHealth(name: string, section: HealthSection): void;
  onReload(listener: (next: Config, previous: Config) => void): void;
  onShutdown(task: () => unknown): void;
}

export interface FeatureModule {
  name: string;
  /** The feature's controller: one Elysia instance with its routes. */
  routes?: AnyElysia;
  start?(): void;
}
