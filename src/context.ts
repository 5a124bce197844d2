import type { AnyElysia } from "elysia";
import type { Logger } from "pino";
import type { Config } from "./config/schema";
import type { EventBus } from "./events/bus";
import type { Metrics } from "./http/metrics";
import type { Clock, Queue } from "./queue";
import type { Scheduler } from "./scheduler";
import type { Store } from "./store/db";

/** What a feature module may contribute to GET /health (a section under its name). */
export type HealthSection = () => { ok?: boolean } & Record<string, unknown>;

/** Everything a feature module gets: shared services, never Elysia's request context. */
export interface AppContext {
  version: string;
  startedAt: number;
  /** The current config (replaced on SIGHUP); read it when needed rather than caching values. */
  config(): Config;
  store: Store;
  queue: Queue;
  scheduler: Scheduler;
  bus: EventBus;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
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

export type FeatureFactory = (ctx: AppContext) => FeatureModule;
