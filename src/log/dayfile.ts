import { appendFileSync, mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";

export interface DayFileOptions {
  dir: string;
  /** Current time (unix ms); injectable so tests can cross midnight. */
  now?: () => number;
  /** Strings that must never reach the file (tokens, secrets): replaced by [redacted]. */
  secrets?: () => string[];
}

const FILE = /^log_(\d{4})_(\d{2})_(\d{2})\.txt$/;
const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** log_YYYY_MM_DD.txt for the local day of `ms` (the server's time zone, like the file's lines). */
export function dayFileName(ms: number): string {
  const d = new Date(ms);
  return `log_${d.getFullYear()}_${pad(d.getMonth() + 1)}_${pad(d.getDate())}.txt`;
}

function stamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * Human-readable day files: one line per record, appended to the file of the current day, so the
 * file switches at midnight without a restart. Plain appendFileSync: the bridge writes a few lines
 * per message, and a synchronous append keeps each line whole and on disk before we move on.
 */
export class DayFileLog {
  private madeDir = false;

  constructor(private options: DayFileOptions) {}

  get dir(): string {
    return this.options.dir;
  }

  /** Appends "YYYY-MM-DD HH:MM:SS.mmm LEVEL text"; newlines in the text are escaped to keep one line per record. */
  write(level: "INFO" | "WARN" | "ERROR", text: string): void {
    const now = (this.options.now ?? Date.now)();
    let line = text.replace(/\r?\n/g, "\\n");
    for (const s of this.options.secrets?.() ?? []) if (s.length >= 4) line = line.split(s).join("[redacted]");
    try {
      if (!this.madeDir) {
        mkdirSync(this.options.dir, { recursive: true });
        this.madeDir = true;
      }
      appendFileSync(join(this.options.dir, dayFileName(now)), `${stamp(now)} ${level.padEnd(5)} ${line}\n`);
    } catch {
      // A full or read-only log disk must not stop the bridge; the JSON log still has the record.
      this.madeDir = false;
    }
  }

  /** Deletes day files older than `days` days (by the date in their name); returns the names removed. */
  cleanup(days: number): string[] {
    if (days <= 0) return [];
    const now = new Date((this.options.now ?? Date.now)());
    const cutoff = new Date(now.getFullYear(), now.getMonth(), now.getDate() - days).getTime();
    let names: string[];
    try {
      names = readdirSync(this.options.dir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      const m = FILE.exec(name);
      if (!m) continue;
      const day = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime();
      if (day < cutoff) {
        unlinkSync(join(this.options.dir, name));
        removed.push(name);
      }
    }
    return removed;
  }
}
