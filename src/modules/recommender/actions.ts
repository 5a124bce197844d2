import type { EventClass } from "./classify";

// The 15 actions of the original design: action type x time context (past / current / future
// module), without the infeasible pairs (no submitting or attempting in a past module, no
// submitting or reviewing in a future one).
export type ActionType = "view_content" | "view_assignment" | "submit_assignment" | "attempt_quiz" | "submit_quiz" | "review_quiz" | "post_forum";
export type TimeContext = "past" | "current" | "future";

export interface Action {
  index: number;
  type: ActionType;
  time: TimeContext;
}

const PAIRS: Array<[ActionType, TimeContext]> = [
  ["view_content", "past"],
  ["view_content", "current"],
  ["view_content", "future"],
  ["view_assignment", "past"],
  ["view_assignment", "current"],
  ["view_assignment", "future"],
  ["submit_assignment", "current"],
  ["attempt_quiz", "current"],
  ["attempt_quiz", "future"],
  ["submit_quiz", "current"],
  ["review_quiz", "past"],
  ["review_quiz", "current"],
  ["post_forum", "past"],
  ["post_forum", "current"],
  ["post_forum", "future"],
];

export const ACTIONS: readonly Action[] = PAIRS.map(([type, time], index) => ({ index, type, time }));
export const N_ACTIONS = ACTIONS.length;

const byKey = new Map(ACTIONS.map((a) => [`${a.type}:${a.time}`, a.index]));

/** Learning event class → action type (reading a forum is forum participation). */
export function actionTypeOf(c: EventClass): ActionType | null {
  switch (c) {
    case "view_content":
    case "view_assignment":
    case "submit_assignment":
    case "attempt_quiz":
    case "submit_quiz":
    case "review_quiz":
    case "post_forum":
      return c;
    case "view_forum":
      return "post_forum";
    default:
      return null;
  }
}

/** The action index; an infeasible pair falls back to the same type in the current module. */
export function actionIndex(type: ActionType, time: TimeContext): number {
  return byKey.get(`${type}:${time}`) ?? byKey.get(`${type}:current`)!;
}

/** Which activity kinds (modname) an action type points at. */
export function modsFor(type: ActionType, contentMods: ReadonlySet<string>): (modname: string) => boolean {
  switch (type) {
    case "view_content":
      return (m) => contentMods.has(m);
    case "view_assignment":
    case "submit_assignment":
      return (m) => m === "assign";
    case "attempt_quiz":
    case "submit_quiz":
    case "review_quiz":
      return (m) => m === "quiz";
    case "post_forum":
      return (m) => m === "forum";
  }
}
