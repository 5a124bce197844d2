import { z } from "zod";
import { duration } from "../../config/units";

const weights = z
  .strictObject({
    /** Reward when a transition completes an activity (completionstate 1 or 2). */
    completion: z.number().default(1.0),
    /** Reward per unit of normalised grade (0..1) received. */
    grade: z.number().default(1.0),
    /** Reward per unit of improvement over the learner's previous best grade on that activity. */
    improvement: z.number().default(0.5),
    /** Added (negative) when a grade is below `pass_grade` or completion is "complete-fail". */
    failure: z.number().default(-0.5),
    /** Added to every learning action (a small cost so idle clicking is not rewarded). */
    step: z.number().default(-0.01),
    /** Rewards are clipped to [-clip, clip]. */
    clip: z.number().positive().default(2),
  })
  .prefault({});

export const recommenderConfig = z
  .strictObject({
    /** How often the in-memory Q-tables are written to SQLite (also on shutdown). Below 1m: whole seconds; else whole minutes or hours. */
    snapshot_every: duration.prefault("5m"),
    /** Snapshots kept in the database (older ones are deleted). */
    snapshots_kept: z.number().int().min(1).default(3),
    /** Recommendations returned when the caller gives no ?k=. */
    top_k: z.number().int().min(1).max(50).default(3),
    /** Q-learning rate. */
    alpha: z.number().gt(0).max(1).default(0.1),
    /** Q-learning discount. */
    gamma: z.number().min(0).max(1).default(0.9),
    /** Learner level thresholds on the mean normalised grade: below the first = weak (0), below the second = medium (1), else strong (2). */
    level_thresholds: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.5, 0.75]),
    /** A normalised grade below this counts as a failure in the reward, and justifies recommending a retry of the activity just done. */
    pass_grade: z.number().min(0).max(1).default(0.5),
    /** Grade maximum assumed when neither the event nor a grade_updated payload says (Moodle's quiz default is 10). */
    default_grade_max: z.number().positive().default(10),
    /**
     * How strongly long-term value re-ranks the plausible next steps: each move's mean discounted
     * reward after it (shrunk by its evidence) minus the mean of the plausible moves, times this,
     * is added to the blend score (which lies in 0..1). 1 = a reward difference of one completion
     * outweighs any difference in how common the moves are; 0 = rank by the learned blend only.
     */
    value_weight: z.number().min(0).default(1),
    /** Courses with fewer learned transitions than this use the global Q-table as their prior. */
    min_course_transitions: z.number().int().min(0).default(200),
    /** Events the pipeline processes per transaction (bigger = faster catch-up, longer pauses for other writes). */
    batch_size: z.number().int().min(1).max(100_000).default(2000),
    /**
     * On PostgreSQL: how long a recommendations.rebuild job item waits for a course's shard owner
     * on another node. Past it the item completes as "accepted" with the request still stored:
     * the owner (or the shard's next owner) does it.
     */
    rebuild_wait: duration.prefault("30s"),
    /** Reward weights. */
    reward: weights,
  })
  .prefault({});
export type RecommenderConfig = z.output<typeof recommenderConfig>;
