import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";

export interface ApiJobRow {
  id: string;
  type: string;
  status: "queued" | "running" | "completed" | "failed" | "partially_completed";
  total_lots: number;
  completed_lots: number;
  failed_lots: number;
  webhook_url: string | null;
  options: string | null;
  delivery_id: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export function insertJob(db: Db, j: { id: string; type: string; total: number; webhookUrl: string | null; options: string | null; now: number }): void {
  prepared(db, "INSERT INTO api_jobs (id, type, status, total_lots, webhook_url, options, created_at) VALUES (?, ?, 'queued', ?, ?, ?, ?)").run(
    j.id,
    j.type,
    j.total,
    j.webhookUrl,
    j.options,
    j.now,
  );
}

export function insertItem(db: Db, jobId: string, idx: number, item: string): void {
  prepared(db, "INSERT INTO api_job_items (job_id, idx, item) VALUES (?, ?, ?)").run(jobId, idx, item);
}

export function getJob(db: Db, id: string): ApiJobRow | undefined {
  return prepared<[string], ApiJobRow>(db, "SELECT * FROM api_jobs WHERE id = ?").get(id);
}

export function markRunning(db: Db, id: string, now: number): void {
  prepared(db, "UPDATE api_jobs SET status = 'running', started_at = coalesce(started_at, ?) WHERE id = ? AND status = 'queued'").run(now, id);
}

export function pendingItems(db: Db, id: string, limit: number): Array<{ idx: number; item: string }> {
  return prepared<[string, number], { idx: number; item: string }>(db, "SELECT idx, item FROM api_job_items WHERE job_id = ? AND status = 'pending' ORDER BY idx LIMIT ?").all(id, limit);
}

export function finishItem(db: Db, id: string, idx: number, ok: boolean, result: unknown, error: string | null, now: number): void {
  prepared(db, "UPDATE api_job_items SET status = ?, result = ?, error = ?, finished_at = ? WHERE job_id = ? AND idx = ? AND status = 'pending'").run(
    ok ? "completed" : "failed",
    result === undefined ? null : JSON.stringify(result),
    error,
    now,
    id,
    idx,
  );
}

export function countItems(db: Db, id: string): { completed: number; failed: number } {
  return prepared<[string], { completed: number; failed: number }>(
    db,
    "SELECT coalesce(sum(status = 'completed'), 0) AS completed, coalesce(sum(status = 'failed'), 0) AS failed FROM api_job_items WHERE job_id = ?",
  ).get(id)!;
}

export function updateCounts(db: Db, id: string, completed: number, failed: number): void {
  prepared(db, "UPDATE api_jobs SET completed_lots = ?, failed_lots = ? WHERE id = ?").run(completed, failed, id);
}

export function finishJob(db: Db, id: string, status: string, completed: number, failed: number, deliveryId: string | null, now: number): void {
  prepared(db, "UPDATE api_jobs SET status = ?, completed_lots = ?, failed_lots = ?, delivery_id = ?, finished_at = ? WHERE id = ?").run(
    status,
    completed,
    failed,
    deliveryId,
    now,
    id,
  );
}

export function results(db: Db, id: string, offset: number, limit: number): Array<{ idx: number; status: string; result: string | null; error: string | null }> {
  return prepared<unknown[], any>(db, "SELECT idx, status, result, error FROM api_job_items WHERE job_id = ? ORDER BY idx LIMIT ? OFFSET ?").all(id, limit, offset);
}

/** The job a signed request made within the replay window, if it was seen. */
export function requestJob(db: Db, key: string, since: number): string | null {
  const r = prepared<[string, number], { job_id: string }>(db, "SELECT job_id FROM api_job_requests WHERE key = ? AND at >= ?").get(key, since);
  return r?.job_id ?? null;
}

/** Records a signed request and forgets those older than the window. */
export function saveRequest(db: Db, key: string, jobId: string, now: number, since: number): void {
  prepared(db, "DELETE FROM api_job_requests WHERE at < ?").run(since);
  prepared(db, "INSERT INTO api_job_requests (key, job_id, at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, at = excluded.at").run(key, jobId, now);
}
