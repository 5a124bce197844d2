// Loads the real Moodle fixtures (test/fixtures/moodle, copies of shared/fixtures) for tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CsvReader, csvRowToLog } from "../../src/modules/moodle/csv";
import { FIXTURES } from "../helpers/ferry";

export const MOODLE = join(FIXTURES, "moodle");
export const CSV_PATH = join(MOODLE, "course2_logstore_train.csv");
export const STRUCTURE_PATH = join(MOODLE, "course_structure_2.json");
export const OBSERVER_PATH = join(MOODLE, "observer_payloads.jsonl");

/** course2_logstore_train.csv rows as log objects (string values, as an export gives them). */
export function course2Logs(): Array<Record<string, string | null>> {
  const r = new CsvReader();
  r.push(readFileSync(CSV_PATH, "utf8"));
  r.end();
  const [header, ...rows] = r.take();
  return rows.map((row) => csvRowToLog(header!, row));
}

export function structure2(): any {
  return JSON.parse(readFileSync(STRUCTURE_PATH, "utf8"));
}

export function observerPayloads(): any[] {
  return readFileSync(OBSERVER_PATH, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

export const MOODLE_TOKEN = "test-moodle-token";
export const API_TOKEN = "test-api-token";
export const BASE_CONFIG = { moodle: { tokens: [MOODLE_TOKEN] }, auth: { api_tokens: [API_TOKEN] } };

export function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
