import type { Logger } from "pino";
import type { Store } from "../store/db";
import type { Db } from "../store/sqlite";
import type { PgTx } from "../store/postgres/client";
import type { PgWriteContext } from "../store/postgres/group-commit";

export interface EventContext {
  tenantId?: string | null;
  organisationId?: string | null;
  userId?: string | null;
}

/** The event envelope (spec/outgoing-webhooks.md), exact keys. */
export interface EventEnvelope<D = unknown> {
  name: string;
  context: EventContext;
  data: D;
  timestamp: string;
  id: string;
}

export interface PublishInput<D = unknown> {
  name: string;
  context?: EventContext;
  data: D;
  id?: string;
  timestamp?: string;
}

export type EventHook = (event: EventEnvelope) => unknown;
/**
 * Stores events (and their deliveries) inside the publisher's transaction, many at a time (set-based
 * writes); for each event, false if its id was seen before (or earlier in the same list).
 */
export type EventPersister = (db: Db, events: EventEnvelope[]) => boolean[];
/** The same on PostgreSQL, inside the publisher's PgGroupCommit write (`w`: its after-commit and NOTIFY). */
export type PgEventPersister = (tx: PgTx, w: PgWriteContext, events: EventEnvelope[]) => Promise<boolean[]>;

/**
 * The event bus. `publish` runs inside the publisher's write (store.write / writeNow), so an event
 * is stored exactly when the data it describes is. In-process hooks run after the commit, by priority
 * (lower first); one failing hook is logged and never blocks the others. External fan-out is a
 * persister the webhooks module installs.
 */
export class EventBus {
  private hooks: Array<{ pattern: string; priority: number; fn: EventHook; name: string }> = [];
  private persisters: EventPersister[] = [];
  private pgPersisters: PgEventPersister[] = [];

  /** `store` is the SQLite store, or null on PostgreSQL (whose writes bring their own after-commit). */
  constructor(
    private store: Store | null,
    private log: Logger,
  ) {}

  /** `pattern` is an event name or a `*` wildcard pattern ("attempt.*", "*"). */
  hook(name: string, pattern: string, fn: EventHook, priority = 100): void {
    this.hooks.push({ name, pattern, fn, priority });
    this.hooks.sort((a, b) => a.priority - b.priority);
  }

  addPersister(persister: EventPersister): void {
    this.persisters.push(persister);
  }

  addPgPersister(persister: PgEventPersister): void {
    this.pgPersisters.push(persister);
  }

  /** Hooks registered so far (for /api/v1/plugins and tests). */
  hookNames(): Array<{ name: string; pattern: string; priority: number }> {
    return this.hooks.map(({ name, pattern, priority }) => ({ name, pattern, priority }));
  }

  /** Publishes inside the caller's transaction. Returns the envelope, or null when the id was already published. */
  publish<D>(db: Db, input: PublishInput<D>): EventEnvelope<D> | null {
    return this.publishMany(db, [input])[0]!;
  }

  /** Publishes several events inside the caller's transaction (one set-based write per persister); null where the id was already published. */
  publishMany<D>(db: Db, inputs: PublishInput<D>[]): Array<EventEnvelope<D> | null> {
    let out: Array<EventEnvelope<D> | null> = inputs.map(envelopeOf);
    for (const p of this.persisters) out = keepStored(out, (live) => p(db, live));
    const created = out.filter((e): e is EventEnvelope<D> => e !== null);
    // Hooks run once the publisher's write is on disk; if that write rolls back, they never run.
    if (created.length) this.store!.afterCommit(() => this.runAllHooks(created));
    return out;
  }

  /** publish() on PostgreSQL: inside the caller's PgGroupCommit write (`tx`, `w`). */
  async publishPg<D>(tx: PgTx, w: PgWriteContext, input: PublishInput<D>): Promise<EventEnvelope<D> | null> {
    return (await this.publishManyPg(tx, w, [input]))[0]!;
  }

  /** publishMany() on PostgreSQL. */
  async publishManyPg<D>(tx: PgTx, w: PgWriteContext, inputs: PublishInput<D>[]): Promise<Array<EventEnvelope<D> | null>> {
    let out: Array<EventEnvelope<D> | null> = inputs.map(envelopeOf);
    for (const p of this.pgPersisters) {
      const live = out.filter((e): e is EventEnvelope<D> => e !== null);
      if (live.length === 0) break;
      const stored = await p(tx, w, live);
      out = keepStored(out, () => stored);
    }
    const created = out.filter((e): e is EventEnvelope<D> => e !== null);
    if (created.length) w.afterCommit(() => this.runAllHooks(created));
    return out;
  }

  private runAllHooks(events: EventEnvelope[]): void {
    if (this.hooks.length) for (const e of events) void this.runHooks(e);
  }

  private async runHooks(event: EventEnvelope): Promise<void> {
    for (const h of this.hooks) {
      if (!matchesPattern(h.pattern, event.name)) continue;
      try {
        await h.fn(event);
      } catch (err) {
        this.log.error({ err, hook: h.name, event: event.name, id: event.id }, "event hook failed");
      }
    }
  }
}

function envelopeOf<D>(input: PublishInput<D>): EventEnvelope<D> {
  return {
    name: input.name,
    context: {
      tenantId: input.context?.tenantId ?? null,
      organisationId: input.context?.organisationId ?? null,
      userId: input.context?.userId ?? null,
    },
    data: input.data,
    timestamp: input.timestamp ?? new Date().toISOString(),
    id: input.id ?? `evt_${Bun.randomUUIDv7()}`,
  };
}

/** `out` with null where a persister did not store the event (its id was already published). */
function keepStored<D>(out: Array<EventEnvelope<D> | null>, persist: (live: EventEnvelope<D>[]) => boolean[]): Array<EventEnvelope<D> | null> {
  const live = out.filter((e): e is EventEnvelope<D> => e !== null);
  if (live.length === 0) return out;
  const stored = persist(live);
  let i = 0;
  return out.map((e) => (e === null ? null : stored[i++] ? e : null));
}

const patternCache = new Map<string, RegExp>();

/** `*` matches any run of characters, so "attempt.*" matches "attempt.submitted" and "*" matches all. */
export function matchesPattern(pattern: string, name: string): boolean {
  if (pattern === "*" || pattern === name) return true;
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp("^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
    patternCache.set(pattern, re);
  }
  return re.test(name);
}
