// Where belowzero is not a member (answersOnlyThroughInteraction), a result can only arrive
// through the interaction's token, which Discord lets answer for 15 minutes. Such a job gets a
// deadline, and before it is queued the bot estimates whether the queue lets it start and
// finish by then: from the jobs ahead and the recent tokens/s its model's workers report.
import type { Queue } from "bullmq";
import { stopGeneratingBy } from "../job.js";
import type { ModelView } from "../store/models.js";

/** What the member is told before anything is queued, or alongside the queued reply. */
export type WindowVerdict = { fits: true } | { refusal: string } | { warning: string };

export interface WindowEstimate {
  /** Jobs that will run before this one (queued at the same or a lower number, and running). */
  ahead: number;
  /** Tokens of a typical job ahead (their sizes are not read: the operator's default). */
  tokensPerJob: number;
  /** This job's tokens (a sweep's rows together). */
  ownTokens: number;
  /** The queue's workers together, tokens per second; undefined when none has measured yet. */
  tokensPerSecond: number | undefined;
  interactionAt: number;
  deadline: number;
  now: number;
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
  const { ahead, tokensPerJob, ownTokens, tokensPerSecond, now } = estimate;
  const timeLeft = stopGeneratingBy(estimate.interactionAt, estimate.deadline) - now;
  if (tokensPerSecond === undefined || tokensPerSecond <= 0)
    return ahead === 0
      ? { fits: true }
      : {
          warning: `${WHY} ${ahead} ${ahead === 1 ? "request is" : "requests are"} ahead of yours: if it can't finish in time it will be cut short, and if it can't start in time nothing is generated. /weird-mine lists what you made.`,
        };
  const startsIn = ((ahead * tokensPerJob) / tokensPerSecond) * 1000;
  const takes = (ownTokens / tokensPerSecond) * 1000;
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

/** The recent speed of the workers that take this queue's jobs, together; undefined when unknown. */
export function queueSpeed(models: ModelView[], queue: string): number | undefined {
  const speeds = models
    .filter(model => model.queue === queue)
    .flatMap(model => model.live.map(worker => worker.tokensPerSecond))
    .filter((speed): speed is number => speed !== null && speed > 0);
  return speeds.length === 0 ? undefined : speeds.reduce((sum, speed) => sum + speed, 0);
}

/** Jobs that will run before one queued at this priority: waiting at the same or a lower number, and running. */
export async function jobsAhead(queue: Queue, priority: number): Promise<number> {
  const [counts, active] = await Promise.all([
    queue.getCountsPerPriority(Array.from({ length: priority }, (_, i) => i + 1)),
    queue.getActiveCount(),
  ]);
  return Object.values(counts).reduce((sum, count) => sum + count, 0) + active;
}
