import type { PgTx } from "../../store/postgres/client";
import type { PgWriteContext } from "../../store/postgres/group-commit";
import type { Db } from "../../store/sqlite";
import type { ReplayResult } from "../webhooks/engine";

/**
 * What the jobs API needs from the webhooks feature's delivery engine (the composition root hands
 * the engine over): a completion webhook and a delivery replay, each inside the jobs API's own
 * write so they commit with the job's state. The PostgreSQL variants take the PgGroupCommit
 * write's context (hand-off to the engine's lanes after the commit); without them a job on
 * PostgreSQL records why no completion webhook was sent.
 */
export interface JobWebhooks {
  createJobWebhook(db: Db, url: string, eventName: string, body: string): string;
  replay(db: Db, id: string): ReplayResult;
  createJobWebhookPg?(tx: PgTx, w: PgWriteContext, url: string, eventName: string, body: string): Promise<string>;
  replayPg?(tx: PgTx, w: PgWriteContext, id: string): Promise<ReplayResult>;
}
