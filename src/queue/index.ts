export { Queue, type Job, type JobContext, type KindOptions } from "./worker";
export { PermanentFailure, RetryLater, systemClock, type Backoff, type Clock, type JobRow, type NewJob } from "./types";
export { backoffDelay } from "./backoff";
export { doneCount, queueDepth, getJob } from "./stats";
export { deleteFinishedJobs } from "./cleanup";
export { replayDeadJobs } from "./replay";
