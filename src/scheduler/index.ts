import { Cron } from "croner";
import type { Logger } from "pino";

export interface MaintenanceService {
  name: string;
  /** croner pattern; six fields allow seconds. */
  pattern: string;
  run: () => unknown;
  /** Runs only on the cluster's leader (cleanup, rescue); without it, on every node (per-node work). */
  leaderOnly?: boolean;
}

export interface ServiceStatus {
  name: string;
  pattern: string;
  running: boolean;
  /** Runs only on the cluster's leader. */
  leader_only: boolean;
  /** Scheduled runs skipped because another node leads. */
  skipped: number;
  /** False when the most recent run failed. */
  ok: boolean;
  runs: number;
  last_run_at: string | null;
  last_duration_ms: number | null;
  last_error: string | null;
  last_error_at: string | null;
  next_run_at: string | null;
}

interface Entry {
  service: MaintenanceService;
  cron: Cron | null;
  runs: number;
  skipped: number;
  lastRunAt: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

/**
 * Maintenance services (River-style: rescuer, cleaner, checkpointer…), each a croner job with
 * overlap protection. They start and stop together and report their last run for /health.
 */
export class Scheduler {
  private entries = new Map<string, Entry>();
  private started = false;
  /** Whether this node leads now (the cluster membership sets it; alone, a node always leads). */
  private isLeader: () => boolean = () => true;

  constructor(private log: Logger) {}

  /** Leader-only services skip their scheduled runs while this returns false. */
  setLeaderGate(isLeader: () => boolean): void {
    this.isLeader = isLeader;
  }

  add(service: MaintenanceService): void {
    if (this.entries.has(service.name)) throw new Error(`maintenance service ${service.name} added twice`);
    // Validate the pattern now so a bad one fails at start-up, not silently later.
    new Cron(service.pattern, { paused: true }).stop();
    const entry: Entry = { service, cron: null, runs: 0, skipped: 0, lastRunAt: null, lastDurationMs: null, lastError: null, lastErrorAt: null };
    this.entries.set(service.name, entry);
    if (this.started) this.startEntry(entry);
  }

  start(): void {
    this.started = true;
    for (const e of this.entries.values()) this.startEntry(e);
  }

  stop(): void {
    this.started = false;
    for (const e of this.entries.values()) {
      e.cron?.stop();
      e.cron = null;
    }
  }

  /** Runs a service now (tests, and shutdown tasks such as the final snapshot). */
  async runNow(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no maintenance service ${name}`);
    await this.execute(e);
  }

  status(): ServiceStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.service.name,
      pattern: e.service.pattern,
      running: e.cron !== null,
      leader_only: e.service.leaderOnly ?? false,
      skipped: e.skipped,
      ok: e.lastErrorAt === null || (e.lastRunAt !== null && e.lastErrorAt < e.lastRunAt),
      runs: e.runs,
      last_run_at: e.lastRunAt ? new Date(e.lastRunAt).toISOString() : null,
      last_duration_ms: e.lastDurationMs,
      last_error: e.lastError,
      last_error_at: e.lastErrorAt ? new Date(e.lastErrorAt).toISOString() : null,
      next_run_at: e.cron?.nextRun()?.toISOString() ?? null,
    }));
  }

  private startEntry(e: Entry): void {
    if (e.cron) return;
    e.cron = new Cron(e.service.pattern, { protect: true, unref: true }, () => {
      if (e.service.leaderOnly && !this.isLeader()) return void e.skipped++; // another node runs it
      return this.execute(e);
    });
  }

  private async execute(e: Entry): Promise<void> {
    const started = Date.now();
    try {
      await e.service.run();
    } catch (err) {
      e.lastError = (err as Error).message;
      e.lastErrorAt = Date.now();
      this.log.error({ err, service: e.service.name }, "maintenance service failed");
    } finally {
      e.runs++;
      e.lastRunAt = started;
      e.lastDurationMs = Date.now() - started;
    }
  }
}
