import type { Db } from "../store/sqlite";
import { prepared } from "../store/prepared";
import type { NewJob } from "./types";

const INSERT = `INSERT INTO jobs (kind, payload, status, run_at, max_attempts, dedupe_key, created_at, updated_at)
  VALUES (?, ?, 'queued', ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`;
const BY_KEY = "SELECT id FROM jobs WHERE dedupe_key = ?";

/**
 * Inserts a job inside the caller's transaction, so the data a job refers to and the job itself
 * commit together. Returns the job id and whether it is new (false: the dedupe key existed).
 */
export function enqueueJob(db: Db, job: NewJob, now: number, defaultMaxAttempts: number): { id: number; created: boolean } {
  const row = prepared<unknown[], { id: number }>(db, INSERT).get(
    job.kind,
    JSON.stringify(job.payload ?? null),
    job.runAt ?? now,
    job.maxAttempts ?? defaultMaxAttempts,
    job.dedupeKey ?? null,
    now,
    now,
  );
  if (row) return { id: row.id, created: true };
  const existing = prepared<[string], { id: number }>(db, BY_KEY).get(job.dedupeKey!);
  return { id: existing!.id, created: false };
}

export function enqueueJobs(db: Db, jobs: NewJob[], now: number, defaultMaxAttempts: number): Array<{ id: number; created: boolean }> {
  return jobs.map((job) => enqueueJob(db, job, now, defaultMaxAttempts));
}
