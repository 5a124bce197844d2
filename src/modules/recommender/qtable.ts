import { N_ACTIONS } from "./actions";

/** State tuple: level, module_idx, progress, score, phase, engagement. */
export type StateTuple = [number, number, number, number, number, number];

export const stateKey = (s: readonly number[]): string => `${s[0]}|${s[1]}|${s[2]}|${s[3]}|${s[4]}|${s[5]}`;
/** The global prior ignores module_idx (module positions mean nothing across courses). */
export const globalKey = (s: readonly number[]): string => `${s[0]}|${s[2]}|${s[3]}|${s[4]}|${s[5]}`;

export interface Transition {
  course: number;
  s: readonly number[];
  a: number;
  r: number;
  s2: readonly number[];
}

interface Table {
  q: Map<string, number[]>;
  /** How often each (state, action) was learned from (untried actions rank after tried ones). */
  n: Map<string, number[]>;
  updates: number;
}

export interface Lookup {
  values: number[];
  counts: number[];
  source: "course" | "global" | "nearest";
  distance?: number;
}

export interface QSnapshotData {
  v: 1;
  courses: Record<string, { updates: number; q: Record<string, number[]>; n: Record<string, number[]> }>;
  global: { updates: number; q: Record<string, number[]>; n: Record<string, number[]> };
}

/**
 * Per-course tabular Q-tables plus a global one used as the prior, all in memory. Updates are a
 * pure function of the transitions in order, which is what makes snapshot + replay equal an
 * uninterrupted run.
 */
export class QTables {
  courses = new Map<number, Table>();
  global: Table = { q: new Map(), n: new Map(), updates: 0 };
  /** The state_history seq of the last transition applied. */
  lastSeq = 0;

  constructor(
    public alpha: number,
    public gamma: number,
  ) {}

  private course(c: number): Table {
    let t = this.courses.get(c);
    if (!t) this.courses.set(c, (t = { q: new Map(), n: new Map(), updates: 0 }));
    return t;
  }

  private static row(t: Table, key: string): number[] {
    let r = t.q.get(key);
    if (!r) t.q.set(key, (r = new Array(N_ACTIONS).fill(0)));
    return r;
  }

  private static learn(t: Table, k: string, k2: string, a: number, r: number, alpha: number, gamma: number): void {
    const row = QTables.row(t, k);
    const next = t.q.get(k2);
    let max = 0;
    if (next) {
      max = next[0]!;
      for (let i = 1; i < N_ACTIONS; i++) if (next[i]! > max) max = next[i]!;
    }
    row[a] = row[a]! + alpha * (r + gamma * max - row[a]!);
    let counts = t.n.get(k);
    if (!counts) t.n.set(k, (counts = new Array(N_ACTIONS).fill(0)));
    counts[a]!++;
    t.updates++;
  }

  /** Q(s,a) += α [r + γ max Q(s',·) − Q(s,a)] in the course table and in the global prior. */
  apply(tr: Transition, seq: number, key = stateKey(tr.s), key2 = stateKey(tr.s2)): void {
    QTables.learn(this.course(tr.course), key, key2, tr.a, tr.r, this.alpha, this.gamma);
    QTables.learn(this.global, globalKey(tr.s), globalKey(tr.s2), tr.a, tr.r, this.alpha, this.gamma);
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  /** Q-values for a state: the course's own, the global prior for courses with little data, else the nearest known state. */
  lookup(course: number, s: readonly number[], minCourseUpdates: number): Lookup | null {
    const t = this.courses.get(course);
    const key = stateKey(s);
    const gk = globalKey(s);
    const own = t?.q.get(key);
    const g = this.global.q.get(gk);
    if (own && t!.updates >= minCourseUpdates) return { values: own, counts: t!.n.get(key)!, source: "course" };
    if (g) return { values: g, counts: this.global.n.get(gk)!, source: "global" };
    if (own) return { values: own, counts: t!.n.get(key)!, source: "course" };
    // Nearest known state of this course (L1 over the dimensions, each scaled to its range).
    const pool = t && t.q.size ? t.q : null;
    if (!pool) return null;
    let best: number[] | null = null;
    let bestCounts: number[] | null = null;
    let bestD = Infinity;
    let bestKey = "";
    for (const [k, row] of pool) {
      const p = k.split("|").map(Number);
      const d = Math.abs(p[0]! - s[0]!) / 2 + Math.abs(p[1]! - s[1]!) + Math.abs(p[2]! - s[2]!) + Math.abs(p[3]! - s[3]!) + Math.abs(p[4]! - s[4]!) / 2 + Math.abs(p[5]! - s[5]!) / 2;
      if (d < bestD || (d === bestD && k < bestKey)) {
        bestD = d;
        best = row;
        bestCounts = t!.n.get(k)!;
        bestKey = k;
      }
    }
    return best ? { values: best, counts: bestCounts!, source: "nearest", distance: Math.round(bestD * 100) / 100 } : null;
  }

  courseTable(course: number): { updates: number; q: Record<string, number[]>; n: Record<string, number[]> } | null {
    const t = this.courses.get(course);
    const sorted = (m: Map<string, number[]>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return t ? { updates: t.updates, q: sorted(t.q), n: sorted(t.n) } : null;
  }

  toJSON(): QSnapshotData {
    const dump = (t: Table) => ({ updates: t.updates, q: Object.fromEntries(t.q), n: Object.fromEntries(t.n) });
    const courses: QSnapshotData["courses"] = {};
    for (const [c, t] of this.courses) courses[c] = dump(t);
    return { v: 1, courses, global: dump(this.global) };
  }

  load(data: QSnapshotData, lastSeq: number): void {
    this.courses.clear();
    for (const [c, t] of Object.entries(data.courses)) this.courses.set(Number(c), { updates: t.updates, q: new Map(Object.entries(t.q)), n: new Map(Object.entries(t.n)) });
    this.global = { updates: data.global.updates, q: new Map(Object.entries(data.global.q)), n: new Map(Object.entries(data.global.n)) };
    this.lastSeq = lastSeq;
  }

  reset(): void {
    this.courses.clear();
    this.global = { q: new Map(), n: new Map(), updates: 0 };
    this.lastSeq = 0;
  }
}
