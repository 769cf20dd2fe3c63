// How a comparison enters the queue: every part routed to its model first (a model with no
// worker is answered privately before anything is taken), then one cooldown and a queue place
// per part (each is a generation on some worker), all taken or none under one Redis deadline;
// then one public deferred reply that the parts' results fill in, and a job per part on its
// model's queue.
import { randomUUID } from "node:crypto";
import type { ChatInputCommandInteraction } from "discord.js";
import type { WeirdJob, WeirdRequest } from "../job.js";
import { refusals } from "../observability/metrics.js";
import { partOutputId, type ComparisonPart } from "../store/comparisons.js";
import { routeRequest, type ModelView } from "../store/models.js";
import { QUEUE_NAME } from "../store/keys.js";
import { withRedis } from "../store/redis.js";
import type { ServerSettings } from "../store/settings.js";
import { showComparison, updatePart } from "../worker/comparison.js";
import { answerPrivately, QUEUE_UNAVAILABLE, type BotContext } from "./context.js";
import { claimQueuePlaces, giveBack, JOB_OPTIONS, startCooldown } from "./enqueue.js";

/** What a comparison asks for: the shared request, and each part's model (absent: the server's) and temperature. */
export interface WeirdComparison extends Omit<WeirdRequest, "model" | "temperature" | "sweep"> {
  parts: Array<{ model?: string; temperature: number }>;
}

/** The name a part shows: its model's id, or for the shared queue the id its live workers give. */
function labelOf(models: ModelView[], model: string | undefined): string {
  return model ?? models.find(m => m.queue === QUEUE_NAME && m.live.length > 0)?.id ?? "the default model";
}

export async function enqueueComparison(
  ctx: BotContext,
  interaction: ChatInputCommandInteraction,
  request: WeirdComparison,
  settings: ServerSettings,
): Promise<void> {
  const userId = interaction.user.id;
  const guildId = interaction.guildId;
  const id = randomUUID();
  const { parts: asked, ...shared } = request;
  let jobs: Array<{ queue: string; job: WeirdJob; part: ComparisonPart }>;
  const taken: string[] = [];
  const priorities: number[] = [];
  let cooldownTaken = false;
  const undo = async () => {
    await Promise.all(taken.map(jobId => ctx.throttle.freePlace(jobId).catch(() => undefined)));
    if (cooldownTaken) await giveBack(ctx, guildId, userId, id);
  };
  try {
    // One deadline for the whole admission, well inside Discord's 3 s to acknowledge.
    const admitted = await withRedis(ctx, async () => {
      const models = await ctx.models.models();
      const routes = asked.map(part => routeRequest(models, part.model, settings.model));
      const refused = routes.find(route => "refusal" in route);
      if (refused && "refusal" in refused) {
        refusals.inc({ reason: "model_unavailable" });
        return { refusal: refused.refusal };
      }
      const cooldown = await startCooldown(ctx, userId, guildId, id, settings.cooldownSeconds);
      if (cooldown) return cooldown;
      cooldownTaken = true;
      const ids = asked.map((_, i) => partOutputId(id, i));
      const places = await claimQueuePlaces(ctx, userId, guildId, ids);
      if ("refusal" in places) {
        await undo();
        return { refusal: `${places.refusal} (A comparison of ${asked.length} takes ${asked.length} places.)` };
      }
      taken.push(...ids);
      return { models, routes, priorities: places.priorities };
    });
    if ("refusal" in admitted) return answerPrivately(interaction, admitted.refusal);
    const { models, routes } = admitted;
    priorities.push(...admitted.priorities);
    jobs = asked.map((part, i) => {
      const route = routes[i] as { queue: string; model?: string };
      return {
        queue: route.queue,
        part: { label: labelOf(models, route.model), temperature: part.temperature, outputId: partOutputId(id, i) },
        job: {
          applicationId: interaction.applicationId,
          interactionToken: interaction.token,
          interactionAt: interaction.createdTimestamp,
          guildId,
          channelId: interaction.channelId,
          userId,
          ...shared,
          temperature: part.temperature,
          ...(route.model !== undefined && { model: route.model }),
          allowBytes: settings.allowBytes,
          compare: { id, part: i, of: asked.length },
        },
      };
    });
  } catch (error) {
    // A late admission is not chased here as /weird does: places left behind expire within the hour.
    await undo();
    ctx.log(`redis unavailable at command time: ${(error as Error).message}`, { guildId });
    refusals.inc({ reason: "redis_unavailable" });
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }

  try {
    await interaction.deferReply();
  } catch (error) {
    await undo();
    throw error;
  }
  const to = {
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    interactionAt: interaction.createdTimestamp,
    channelId: interaction.channelId,
  };
  const deps = { comparisons: ctx.comparisons, outputs: ctx.outputs, rest: interaction.client.rest };
  try {
    await ctx.comparisons.create(
      id,
      {
        prompt: shared.prompt,
        maxTokens: shared.maxTokens,
        seed: shared.seed,
        ...(shared.vocab && { vocab: shared.vocab }),
      },
      jobs.map(j => j.part),
    );
  } catch (error) {
    ctx.log(`comparison not saved: ${(error as Error).message}`, { guildId });
    await undo();
    await interaction.editReply({ content: QUEUE_UNAVAILABLE, allowedMentions: { parse: [] } }).catch(() => undefined);
    return;
  }
  // Shown before any part is queued, so a fast worker's result cannot be overwritten by it.
  await showComparison(deps, id, to).catch((error: Error) =>
    ctx.log(`could not show the comparison: ${error.message}`, { guildId }),
  );
  await Promise.all(
    jobs.map(async ({ queue, job, part }, i) => {
      try {
        await ctx.queues
          .get(queue)
          .add("weird", job, { ...JOB_OPTIONS, jobId: part.outputId, priority: priorities[i] });
      } catch (error) {
        // A timeout can come after Redis took the job: only undo what really did not happen.
        if (
          await ctx.queues
            .get(queue)
            .getJob(part.outputId)
            .catch(() => undefined)
        )
          return;
        ctx.log(`enqueue failed: ${(error as Error).message}`, { jobId: part.outputId, guildId });
        await ctx.throttle.freePlace(part.outputId).catch(() => undefined);
        await updatePart(deps, { id, part: i }, { state: "failed", reason: "could not be queued (Redis)" }, to).catch(
          () => undefined,
        );
      }
    }),
  );
}
