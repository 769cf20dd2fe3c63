// Where belowzero is not a member (answersOnlyThroughInteraction), a result can only arrive
// through the interaction's token, which Discord lets answer for 15 minutes. Such a job gets a
// deadline, and before it is queued the bot estimates whether the queue lets it start and
// finish by then: from the jobs ahead and the recent tokens/s its model's workers report.
import type { Queue } from "bullmq";
import { SCORE_JOB, stopGeneratingBy, type WeirdJob } from "../job.js";
import type { ModelView } from "../store/models.js";

/** What the member is told before anything is queued, or alongside the queued reply. */
export type WindowVerdict = { fits: true } | { refusal: string } | { warning: string };

export interface WindowEstimate {
  /** The work that will run before this job (queued at the same or a lower number, and running). */
  ahead: WorkAhead;
  /** This job's tokens (a sweep's rows together). */
  ownTokens: number;
  /** How fast the queue's workers are; undefined when none has measured yet. */
  speed: QueueSpeed | undefined;
  interactionAt: number;
  deadline: number;
  now: number;
}

export interface WorkAhead {
  jobs: number;
  /** Their tokens: maxTokens × rows for those read, the operator's default for any beyond. */
  tokens: number;
}

export interface QueueSpeed {
  /** Tokens per second of one generation (the mean of the live workers'): how fast this job runs. */
  perJob: number;
  /** Tokens per second of all the workers together, each running its concurrency of jobs. */
  throughput: number;
}

const WHY =
  "I'm not a member here (you are using belowzero from your own account, or this is a group chat), so I can only answer your command, and Discord allows that for 15 minutes.";

function minutes(ms: number): string {
  const m = Math.max(1, Math.round(ms / 60_000));
  return m === 1 ? "about a minute" : `about ${m} minutes`;
}

/**
 * Can the job meet its deadline? It cannot when the jobs ahead would take longer than the
 * time it has to start: refused, nothing queued (a member would rather know now than wait
 * for nothing). When it can start but perhaps not finish, it is queued with a warning that
 * it may be cut short. Without a measured speed only a non-empty queue is worth a warning.
 */
export function judgeWindow(estimate: WindowEstimate): WindowVerdict {
  const { ahead, ownTokens, speed, now } = estimate;
  const timeLeft = stopGeneratingBy(estimate.interactionAt, estimate.deadline) - now;
  if (speed === undefined)
    return ahead.jobs === 0
      ? { fits: true }
      : {
          warning: `${WHY} ${ahead.jobs} ${ahead.jobs === 1 ? "request is" : "requests are"} ahead of yours: if it can't finish in time it will be cut short, and if it can't start in time nothing is generated. /weird-mine lists what you made.`,
        };
  // The queue drains at every worker's pace together; this job then runs on one of them.
  const startsIn = (ahead.tokens / speed.throughput) * 1000;
  const takes = (ownTokens / speed.perJob) * 1000;
  if (startsIn >= timeLeft)
    return {
      refusal: `${WHY} The queue ahead of this would take ${minutes(startsIn)}, so it couldn't start in time, and nothing was queued. Please try again in a few minutes, or in a server that has added belowzero.`,
    };
  if (startsIn + takes > timeLeft)
    return {
      warning: `${WHY} With the queue as it is, this may be cut short to arrive in time (it needs ${minutes(startsIn + takes)}). /weird-mine keeps everything you made.`,
    };
  return { fits: true };
}

/** The recent speed of the live workers that take this queue's jobs; undefined when none has measured. */
export function queueSpeed(models: ModelView[], queue: string): QueueSpeed | undefined {
  const workers = models
    .filter(model => model.queue === queue)
    .flatMap(model => model.live)
    .filter(worker => worker.tokensPerSecond !== null && worker.tokensPerSecond > 0);
  if (workers.length === 0) return undefined;
  const speeds = workers.map(worker => worker.tokensPerSecond!);
  return {
    perJob: speeds.reduce((sum, speed) => sum + speed, 0) / speeds.length,
    // A worker from before concurrency was reported runs one job at a time, as was the default.
    throughput: workers.reduce((sum, worker) => sum + worker.tokensPerSecond! * (worker.concurrency ?? 1), 0),
  };
}

/** A generation job's tokens: its rows' together. */
function tokensOf(data: Partial<WeirdJob>): number {
  return (
    (typeof data.maxTokens === "number" ? data.maxTokens : 0) * (Array.isArray(data.sweep) ? data.sweep.length : 1)
  );
}

/**
 * The work before a job queued at this priority: running jobs, and those waiting at the same or
 * a lower number. Up to `read` of them are read for their real size (score jobs generate
 * nothing and count as none); any more (the queue is capped, so rarely) count `typicalTokens`.
 */
export async function workAhead(
  queue: Queue,
  priority: number,
  read: number,
  typicalTokens: number,
): Promise<WorkAhead> {
  const last = Math.max(0, read - 1);
  const [counts, active, running, waiting] = await Promise.all([
    queue.getCountsPerPriority(Array.from({ length: priority }, (_, i) => i + 1)),
    queue.getActiveCount(),
    queue.getJobs(["active"], 0, last),
    queue.getJobs(["wait", "prioritized"], 0, last, true),
  ]);
  const total = Object.values(counts).reduce((sum, count) => sum + count, 0) + active;
  const before = [...running, ...waiting.filter(job => job.priority <= priority)].slice(0, read);
  const generations = before.filter(job => job.name !== SCORE_JOB);
  const tokens = generations.reduce((sum, job) => sum + tokensOf(job.data as Partial<WeirdJob>), 0);
  return { jobs: total, tokens: tokens + Math.max(0, total - before.length) * typicalTokens };
}
