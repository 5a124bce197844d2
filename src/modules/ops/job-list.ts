// GET /api/v1/queue/jobs on each database: newest first, filtered by status and kind, keyset-paged by id.
import type { z } from "zod";
import type { JobRow } from "../../queue";
import type { PgSql } from "../../store/postgres/client";
import { prepared } from "../../store/prepared";
import type { Storage } from "../../store/storage";
import type { jobListQuery } from "./model";

export type JobListQuery = z.output<typeof jobListQuery>;
export type ListJobs = (q: JobListQuery) => JobRow[] | Promise<JobRow[]>;

const SQLITE = `SELECT * FROM jobs WHERE (@status IS NULL OR status = @status) AND (@kind IS NULL OR kind = @kind)
  AND (@before IS NULL OR id < @before) ORDER BY id DESC LIMIT @limit`;

async function listPg(sql: PgSql, q: JobListQuery): Promise<JobRow[]> {
  const rows = await sql<JobRow[]>`SELECT * FROM jobs WHERE true
    ${q.status ? sql`AND status = ${q.status}` : sql``} ${q.kind ? sql`AND kind = ${q.kind}` : sql``} ${q.before ? sql`AND id < ${q.before}` : sql``}
    ORDER BY id DESC LIMIT ${q.limit}`;
  return rows.map((r) => ({ ...r }));
}

export function jobLister(storage: Storage): ListJobs {
  if (storage.kind === "sqlite") {
    const db = storage.store.db;
    return (q) => prepared<[Record<string, unknown>], JobRow>(db, SQLITE).all({ status: q.status ?? null, kind: q.kind ?? null, before: q.before ?? null, limit: q.limit });
  }
  const sql = storage.driver.sql;
  return (q) => listPg(sql, q);
}
