// Synthetic Moodle courses for recommender tests: a course structure in core_course_get_contents
// form and logstore rows as a Moodle site sends them (strings, as real observers do).

export interface SynthActivity {
  cmid: number;
  modname: "page" | "quiz" | "resource" | "forum" | "assign" | "hvp";
  name: string;
}

/** One top-level section holding one delegated lesson per entry of `lessons`. */
export function structure(courseId: number, lessons: SynthActivity[][]): any {
  const contents: any[] = [
    {
      id: courseId * 100,
      section: 0,
      name: "General",
      component: null,
      modules: lessons.map((_, i) => ({ id: courseId * 1000 + i, modname: "subsection", name: `Lesson ${i + 1}`, instance: i + 1 })),
    },
  ];
  lessons.forEach((acts, i) => {
    contents.push({ id: courseId * 100 + i + 1, section: i + 1, name: `Lesson ${i + 1}`, component: "mod_subsection", itemid: i + 1, modules: acts.map((a) => ({ id: a.cmid, modname: a.modname, name: a.name, instance: a.cmid })) });
  });
  return { course_id: courseId, contents };
}

let nextId = 1;

/** A learner's visit of an activity (course_module_viewed, or attempt_started for a quiz). */
export function visit(courseId: number, userid: number, a: SynthActivity, time: number): Record<string, string | null> {
  const quiz = a.modname === "quiz";
  return log({
    eventname: quiz ? "\\mod_quiz\\event\\attempt_started" : `\\mod_${a.modname}\\event\\course_module_viewed`,
    component: `mod_${a.modname}`,
    action: quiz ? "started" : "viewed",
    target: quiz ? "attempt" : "course_module",
    crud: quiz ? "c" : "r",
    edulevel: "2",
    contextlevel: "70",
    contextinstanceid: String(a.cmid),
    userid: String(userid),
    courseid: String(courseId),
    relateduserid: quiz ? String(userid) : null,
    timecreated: String(time),
  });
}

/** The grade of a learner on a quiz (user_graded at module level, with the plugin's enrichment). */
export function graded(courseId: number, userid: number, a: SynthActivity, grade: number, time: number): Record<string, string | null> {
  return log({
    eventname: "\\core\\event\\user_graded",
    component: "core",
    action: "graded",
    target: "user",
    crud: "u",
    edulevel: "0",
    contextlevel: "70",
    contextinstanceid: String(a.cmid),
    userid: "-1",
    courseid: String(courseId),
    relateduserid: String(userid),
    timecreated: String(time),
    finalgrade: String(grade),
    grademax: "10",
  });
}

function log(fields: Record<string, string | null>): Record<string, string | null> {
  const id = nextId++;
  return { id: String(id), objectid: String(id), objecttable: null, anonymous: "0", other: null, origin: "web", ip: "127.0.0.1", realuserid: null, contextid: String(1000 + id), ...fields };
}

// The same seeded generator as ferry evaluate and the bench.
import { rng } from "../../src/cli/evaluate";
export { rng };

const COLUMNS = ["id", "eventname", "component", "action", "target", "objecttable", "objectid", "crud", "edulevel", "contextid", "contextlevel", "contextinstanceid", "userid", "courseid", "relateduserid", "anonymous", "other", "timecreated", "origin", "ip", "realuserid"];

function csv(rows: Array<Record<string, string | null>>): string {
  const cell = (v: string | null | undefined) => (v === null || v === undefined ? "" : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [COLUMNS.join(","), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

/** A course of four lessons of five activities; learners mostly follow the course order. As a logstore CSV. */
export function linearCourse(seed: number) {
  const courseId = 61;
  const kinds: SynthActivity["modname"][] = ["resource", "hvp", "quiz", "quiz", "forum"];
  const lessons: SynthActivity[][] = [0, 1, 2, 3].map((l) => kinds.map((m, i) => ({ cmid: 6100 + l * 10 + i, modname: m, name: `L${l + 1} ${m} ${i + 1}` })));
  const order = lessons.flat();
  const random = rng(seed);
  const rows: Array<Record<string, string | null>> = [];
  for (let u = 0; u < 45; u++) {
    const user = 500 + u;
    let t = 1_766_000_000 + Math.floor(random() * 20) * 3600 + u * 97;
    let i = 0;
    for (let step = 0; step < 24 && i < order.length; step++) {
      const a = order[i]!;
      rows.push(visit(courseId, user, a, (t += 60 + Math.floor(random() * 600))));
      if (a.modname === "quiz") rows.push(graded(courseId, user, a, Math.round(4 + random() * 6), (t += 20)));
      const x = random();
      // Mostly the next activity; sometimes back to an earlier one of the lesson, or one ahead.
      if (x < 0.72) i++;
      else if (x < 0.86) i = Math.max(i - 1 - Math.floor(random() * 2), Math.floor(i / 5) * 5);
      else i += 2;
    }
  }
  rows.sort((a, b) => Number(a.timecreated) - Number(b.timecreated) || Number(a.id) - Number(b.id));
  return { csv: csv(rows), structure: structure(courseId, lessons) };
}


/**
 * A hub-and-spoke course: three lessons, each a hub page and three tasks that learners do in
 * their own order, coming back to the hub after each; after the third task, the next lesson's
 * hub. What follows the hub depends on what the learner has done already. As a logstore CSV.
 */
export function hubCourse(seed: number) {
  const courseId = 62;
  const lessons: SynthActivity[][] = [0, 1, 2].map((l) => [
    { cmid: 6200 + l * 10, modname: "page", name: `L${l + 1} hub` },
    { cmid: 6201 + l * 10, modname: "quiz", name: `L${l + 1} task A` },
    { cmid: 6202 + l * 10, modname: "assign", name: `L${l + 1} task B` },
    { cmid: 6203 + l * 10, modname: "hvp", name: `L${l + 1} task C` },
  ]);
  const random = rng(seed);
  const rows: Array<Record<string, string | null>> = [];
  for (let u = 0; u < 40; u++) {
    const user = 600 + u;
    let t = 1_767_000_000 + Math.floor(random() * 30) * 1800 + u * 53;
    for (const [hub, ...tasks] of lessons) {
      const todo = [...tasks];
      // Some learners favour the first task, most pick at random.
      for (let k = todo.length - 1; k > 0; k--) {
        const j = Math.floor(random() * (k + 1));
        [todo[k], todo[j]] = [todo[j]!, todo[k]!];
      }
      for (const task of todo) {
        rows.push(visit(courseId, user, hub!, (t += 60 + Math.floor(random() * 300))));
        rows.push(visit(courseId, user, task, (t += 60 + Math.floor(random() * 300))));
        if (task.modname === "quiz") rows.push(graded(courseId, user, task, Math.round(5 + random() * 5), (t += 20)));
      }
    }
  }
  rows.sort((a, b) => Number(a.timecreated) - Number(b.timecreated) || Number(a.id) - Number(b.id));
  return { csv: csv(rows), structure: structure(courseId, lessons) };
}
