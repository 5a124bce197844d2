import type { Logger } from "pino";
import type { Config } from "../../config/schema";
import type { Store } from "../../store/db";
import type { PgTx } from "../../store/postgres/client";
import { activitiesIn, type Course } from "./course";
import { loadCoursePg } from "./course-pg";
import { Engine, type EventRow, type ProcessResult } from "./engine";
import { PgOps, persistBatchPg, takeSeqs } from "./ops-pg";
import { learnerFromJson } from "./state";

/**
 * The engine of one course shard on PostgreSQL, on the node that owns the shard: the same
 * pipeline as on SQLite (Engine), with the shard's courses and learners held in memory (loaded
 * per course before its first batch, again when course_versions says the course changed) and
 * every write collected into PgOps for the owner's one fenced transaction per batch. After a
 * failed transaction the caller throws this engine away and builds a new one from the database.
 */
export class PgEngine extends Engine {
  private ops: PgOps | null = null;
  /** course_versions.version as loaded, per course in memory. */
  private versions = new Map<number, number>();
  private posted = new Set<number>();

  constructor(
    config: () => Config,
    log: Logger,
    readonly shard: number,
  ) {
    // No SQLite store: every read the base class would make is overridden below.
    super(null as unknown as Store, config, log);
    this.loaded = true;
  }

  override load(): { snapshotSeq: number; replayed: number } {
    return { snapshotSeq: this.q.lastSeq, replayed: 0 };
  }

  protected override loadCourseModel(id: number): Course {
    throw new Error(`recommender: course ${id} of shard ${this.shard} is not loaded (ensureCourses first)`);
  }

  /** Every learner of a loaded course is in memory: one that is not is new. */
  protected override learnerData(): string | undefined {
    return undefined;
  }

  protected override structurePosted(courseId: number): boolean {
    return this.posted.has(courseId);
  }

  protected override saveEventSection(courseId: number, sectionId: number, position: number): void {
    this.ops!.sections.push({ course_id: courseId, section_id: sectionId, position, name: null });
  }

  protected override saveReEnrolled(courseId: number, userId: number): void {
    this.ops!.reEnrolled.push([courseId, userId]);
  }

  protected override saveStaff(courseId: number, userId: number): void {
    this.ops!.staff.push({ course_id: courseId, user_id: userId });
  }

  /** Courses held in memory (their models and learners). */
  loadedCourses(): number[] {
    return [...this.courses.keys()];
  }

  /** Loads (or reloads, when their version moved) the courses `ids` with their learners and grade items. */
  async ensureCourses(tx: PgTx, ids: number[]): Promise<void> {
    if (!ids.length) return;
    const rows = await tx<{ course_id: number; version: number }[]>`SELECT course_id, version FROM course_versions WHERE course_id = ANY(${tx.array(ids, 20)}::bigint[])`;
    const current = new Map(rows.map((r) => [r.course_id, r.version]));
    for (const id of ids) {
      const v = current.get(id) ?? 0;
      if (this.courses.has(id) && this.versions.get(id) === v) continue;
      const [course, learners, items, posted] = await Promise.all([
        loadCoursePg(tx, id),
        this.courses.has(id) ? null : tx<{ user_id: number; data: string }[]>`SELECT user_id, data FROM learners WHERE course_id = ${id}`,
        this.courses.has(id) ? null : tx<{ item_id: number; course_id: number | null; cmid: number | null; itemtype: string | null; grademax: number | null }[]>`SELECT * FROM grade_items WHERE course_id = ${id}`,
        tx`SELECT 1 FROM course_structures WHERE course_id = ${id}`,
      ]);
      this.courses.set(id, course);
      this.versions.set(id, v);
      if (posted.length) this.posted.add(id);
      else this.posted.delete(id);
      for (const l of learners ?? []) this.learners.set(`${l.user_id}:${id}`, learnerFromJson(l.user_id, id, l.data));
      for (const g of items ?? []) {
        this.gradeItems.set(g.item_id, { itemId: g.item_id, courseId: g.course_id, cmid: g.cmid, itemtype: g.itemtype, grademax: g.grademax });
        if (g.cmid !== null) this.mappedCmids.add(g.cmid);
      }
    }
  }

  /**
   * The batch (events of this shard's courses, in (course, time, id) order) through the same
   * steps as processEvents on SQLite, its writes into `tx`. Memory is ahead of the database
   * until `tx` commits: on any failure the caller drops this engine.
   */
  async process(tx: PgTx, rows: EventRow[], now: number): Promise<ProcessResult & { erased: number[] }> {
    await this.ensureCourses(tx, [...new Set(rows.map((r) => r.courseid))]);
    const ops = (this.ops = new PgOps());
    try {
      const batch = this.collect(rows);
      const seqs = await takeSeqs(tx, batch.history.length);
      const applied = persistBatchPg(ops, batch, (l, m) => this.stateOf(l, this.course(l.courseId), m), (l, m) => activitiesIn(this.course(l.courseId), m).length, now, seqs);
      const result = this.finish(ops, batch, applied, rows.length, {}, now);
      await ops.run(tx);
      return { ...result, erased: [...batch.erased] };
    } finally {
      this.ops = null;
    }
  }

  /** Recomputes stored answers (jobs API rebuild) for the rows of user_states matching `item` in this shard's courses. */
  async rebuildPg(tx: PgTx, courseIds: number[], item: { user_id?: number; module_id?: number }, now: number): Promise<number> {
    await this.ensureCourses(tx, courseIds);
    const rows = await tx<{ user_id: number; course_id: number; module_id: number }[]>`SELECT user_id, course_id, module_id FROM user_states
      WHERE course_id = ANY(${tx.array(courseIds, 20)}::bigint[])
        ${item.user_id !== undefined ? tx`AND user_id = ${item.user_id}` : tx``}
        ${item.module_id !== undefined ? tx`AND module_id = ${item.module_id}` : tx``}
      ORDER BY course_id, user_id, module_id`;
    const ops = new PgOps();
    let n = 0;
    for (const r of rows) {
      if (!this.isLearner(this.course(r.course_id), r.user_id)) continue;
      this.storeInto(ops, this.learner(r.user_id, r.course_id), r.module_id, now);
      n++;
    }
    await ops.run(tx);
    return n;
  }
}
