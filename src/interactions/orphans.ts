// Jobs waiting for a model whose last worker died: after MODEL_WAIT_SECONDS without a live
// worker, the bot takes them off the queue and tells each member, instead of letting them
// wait for good. Every shard runs this; a claim in Redis lets only one of them tell.
import type { REST } from "@discordjs/rest";
import { noticeMessage } from "../discord/format.js";
import { comparisonPartOf, readDelivery, SCORE_JOB } from "../job.js";
import { updatePart } from "../worker/comparison.js";
import { ReplyTarget } from "../worker/reply.js";
import type { ModelView } from "../store/models.js";
import type { BotContext } from "./context.js";

/** Jobs looked at per queue and round; the rest go next round. */
const BATCH = 100;

/** Queues whose models all lost their last worker longer than `waitMs` ago, with those models' ids. */
export function orphanedQueues(models: ModelView[], now: number, waitMs: number): Map<string, string[]> {
  const byQueue = new Map<string, ModelView[]>();
  for (const model of models) byQueue.set(model.queue, [...(byQueue.get(model.queue) ?? []), model]);
  const orphaned = new Map<string, string[]>();
  for (const [queue, served] of byQueue) {
    const alive = served.some(m => m.live.length > 0);
    const lastSeen = Math.max(...served.map(m => m.lastSeenAt));
    if (!alive && now - lastSeen >= waitMs)
      orphaned.set(
        queue,
        served.map(m => m.id),
      );
  }
  return orphaned;
}

/** The orphaned queues now, on the registry's clock (which its lastSeenAt times are on). */
async function orphanedNow(ctx: BotContext): Promise<Map<string, string[]>> {
  const [models, now] = await Promise.all([ctx.models.models(), ctx.models.now()]);
  return orphanedQueues(models, now, ctx.config.queue.modelWaitMs);
}

/** One round: answers and drops the orphaned jobs. Returns how many. */
export async function answerOrphanedJobs(ctx: BotContext, rest: REST): Promise<number> {
  const waitMs = ctx.config.queue.modelWaitMs;
  let answered = 0;
  for (const [name, ids] of await orphanedNow(ctx)) {
    const queue = ctx.queues.get(name);
    // Active ones too: their worker died holding them, and its lock has run out by now.
    const jobs = await queue.getJobs(["waiting", "prioritized", "delayed", "active"], 0, BATCH - 1);
    for (const job of jobs) {
      // Telling each member takes a Discord call: a worker may have come back meanwhile
      // (restarted under the same MODEL_ID), and the jobs left are its to run.
      if (!(await orphanedNow(ctx)).has(name)) break;
      if (!job?.id || (await queue.remove(job.id)) !== 1) continue; // locked: running after all
      if (!(await ctx.models.claimOrphan(job.id))) continue; // another bot process took it
      answered++;
      await ctx.throttle.freePlace(job.id).catch(() => undefined);
      const model = ids.length === 1 ? ids[0]! : ids.join(" or ");
      const seconds = Math.round(waitMs / 1000);
      // A comparison's part is answered in the comparison's message; its other parts stand.
      const part = comparisonPartOf((job.data as { compare?: unknown }).compare);
      const delivery = readDelivery(job.data);
      await (
        part
          ? updatePart(
              { comparisons: ctx.comparisons, outputs: ctx.outputs, rest },
              part,
              {
                state: "failed",
                reason: `no worker serves ${model} any more: this part waited ${seconds} s and was dropped.`,
              },
              delivery,
            )
          : new ReplyTarget(rest, delivery, `bzo${job.id}`.slice(0, 25)).show(
              noticeMessage(
                job.name === SCORE_JOB
                  ? `Sorry, no worker serves ${model} any more: scoring that message waited ${seconds} s and was dropped. Try again later.`
                  : `Sorry, no worker serves ${model} any more: this generation waited ${seconds} s and was dropped. Try again later, or pick another model (/weird-models).`,
                delivery.layout,
              ),
            )
      ).catch((error: Error) =>
        ctx.log(`job ${job.id}: could not tell the member: ${error.message}`, { jobId: job.id }),
      );
      ctx.log(`job ${job.id} dropped: no worker serves ${model}`, { jobId: job.id });
    }
  }
  return answered;
}

/** Runs a round every few seconds; returns the stop. */
export function watchOrphanedJobs(ctx: BotContext, rest: REST): () => void {
  const every = Math.min(5000, Math.max(500, ctx.config.queue.modelWaitMs / 2));
  let running = false;
  const timer = setInterval(() => {
    if (running || !ctx.redisReady()) return;
    running = true;
    void answerOrphanedJobs(ctx, rest)
      .catch((error: Error) => ctx.log(`orphaned jobs: ${error.message}`))
      .finally(() => (running = false));
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}
