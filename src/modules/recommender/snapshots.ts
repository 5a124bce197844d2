import { prepared } from "../../store/prepared";
import type { Db } from "../../store/sqlite";
import type { QSnapshotData, QTables } from "./qtable";

// Q-table snapshots: written by the croner service and at shutdown with the seq of the last
// transition they include; start-up loads the newest and replays state_history after it, so a
// restarted ferry ends with exactly the Q-values of one that never stopped.

/** Loads the newest snapshot into q and replays the transitions recorded after it. */
export function loadQTables(db: Db, q: QTables, alpha: number, gamma: number): { snapshotSeq: number; replayed: number } {
  q.alpha = alpha;
  q.gamma = gamma;
  q.reset();
  const snap = prepared<[], { last_seq: number; data: string }>(db, "SELECT last_seq, data FROM qtable_snapshots ORDER BY id DESC LIMIT 1").get();
  if (snap) q.load(JSON.parse(snap.data) as QSnapshotData, snap.last_seq);
  const from = q.lastSeq;
  let replayed = 0;
  const rows = prepared<[number], { seq: number; course_id: number; state: string; action: number; reward: number; next_state: string }>(
    db,
    "SELECT seq, course_id, state, action, reward, next_state FROM state_history WHERE seq > ? AND action IS NOT NULL ORDER BY seq",
  ).iterate(from);
  for (const r of rows) {
    q.apply({ course: r.course_id, s: r.state.split("|").map(Number), a: r.action, r: r.reward, s2: r.next_state.split("|").map(Number) }, r.seq);
    replayed++;
  }
  const top = prepared<[], number | null>(db, "SELECT max(seq) FROM state_history").pluck().get();
  if (top && top > q.lastSeq) q.lastSeq = top;
  return { snapshotSeq: from, replayed };
}

/** Writes q with the seq of the last transition it includes; skips when nothing changed. Run inside a write. */
export function writeSnapshot(db: Db, q: QTables, now: number, keep: number): { written: boolean; lastSeq: number } {
  // Memory can only be ahead of state_history if a batch rolled back and its caches are not reset yet:
  // never persist such a table (it would name transitions that are not stored).
  const stored = prepared<[], number | null>(db, "SELECT max(seq) FROM state_history").pluck().get() ?? 0;
  if (q.lastSeq > stored) return { written: false, lastSeq: q.lastSeq };
  const last = prepared<[], number | null>(db, "SELECT max(last_seq) FROM qtable_snapshots").pluck().get();
  if (last !== null && last !== undefined && last >= q.lastSeq && q.lastSeq > 0) return { written: false, lastSeq: q.lastSeq };
  if (q.lastSeq === 0 && q.courses.size === 0) return { written: false, lastSeq: 0 };
  prepared(db, "INSERT INTO qtable_snapshots (last_seq, created_at, data) VALUES (?, ?, ?)").run(q.lastSeq, now, JSON.stringify(q.toJSON()));
  prepared(db, "DELETE FROM qtable_snapshots WHERE id NOT IN (SELECT id FROM qtable_snapshots ORDER BY id DESC LIMIT ?)").run(keep);
  return { written: true, lastSeq: q.lastSeq };
}
