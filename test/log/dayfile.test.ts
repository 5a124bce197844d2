import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dayFileName, DayFileLog } from "../../src/log/dayfile";
import { tempDir } from "../helpers/ferry";

test("lines go to the current local day's file and switch at midnight without reopening anything", () => {
  const dir = join(tempDir(), "logs");
  let now = new Date(2026, 0, 19, 23, 59, 59, 900).getTime();
  const log = new DayFileLog({ dir, now: () => now });
  log.write("INFO", "✅ Zendesk → Chatwoot: 21 → 3");
  now += 200; // 00:00:00.100 the next day
  log.write("WARN", "two\nlines");
  expect(readdirSync(dir).sort()).toEqual(["log_2026_01_19.txt", "log_2026_01_20.txt"]);
  expect(readFileSync(join(dir, "log_2026_01_19.txt"), "utf8")).toBe("2026-01-19 23:59:59.900 INFO  ✅ Zendesk → Chatwoot: 21 → 3\n");
  // One record, one line: a newline in the text is escaped.
  expect(readFileSync(join(dir, "log_2026_01_20.txt"), "utf8")).toBe("2026-01-20 00:00:00.100 WARN  two\\nlines\n");
  expect(dayFileName(new Date(2026, 11, 31, 12).getTime())).toBe("log_2026_12_31.txt");
});

test("retention removes day files older than N days and nothing else", () => {
  const dir = tempDir();
  const now = new Date(2026, 2, 31, 8).getTime();
  for (const name of ["log_2026_02_28.txt", "log_2026_03_01.txt", "log_2026_03_02.txt", "log_2026_03_31.txt", "notes.txt", "log_bad.txt"]) writeFileSync(join(dir, name), "x\n");
  const log = new DayFileLog({ dir, now: () => now });
  // Keeps today and the 30 days before it (1 March is 30 days before 31 March).
  expect(log.cleanup(30).sort()).toEqual(["log_2026_02_28.txt"]);
  expect(readdirSync(dir).sort()).toEqual(["log_2026_03_01.txt", "log_2026_03_02.txt", "log_2026_03_31.txt", "log_bad.txt", "notes.txt"]);
  expect(log.cleanup(29)).toEqual(["log_2026_03_01.txt"]);
  expect(log.cleanup(0)).toEqual([]); // 0 keeps everything
  expect(existsSync(join(dir, "log_2026_03_02.txt"))).toBe(true);
});

test("configured secrets never reach the file", () => {
  const dir = tempDir();
  const log = new DayFileLog({ dir, now: () => Date.now(), secrets: () => ["s3cr3t-token", ""] });
  log.write("ERROR", "call failed with s3cr3t-token in it");
  const text = readdirSync(dir).map((f) => readFileSync(join(dir, f), "utf8")).join("");
  expect(text).toContain("call failed with [redacted] in it");
  expect(text).not.toContain("s3cr3t-token");
});

test("an unwritable directory does not throw (the JSON log still has the record)", () => {
  const file = join(tempDir(), "a-file");
  writeFileSync(file, "");
  const log = new DayFileLog({ dir: join(file, "sub"), now: () => Date.now() });
  expect(() => log.write("INFO", "x")).not.toThrow();
});
