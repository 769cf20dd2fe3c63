// The one way a generation enters the queue, shared by /weird, reroll and flip: cooldown and
// caps first (answered privately), then a public deferred reply, the job, and the position.
import { randomUUID } from "node:crypto";
import { MessageFlags, type ButtonInteraction, type ChatInputCommandInteraction } from "discord.js";
import { formatTemperature, NO_MENTIONS } from "../discord/format.js";
import type { WeirdJob } from "../store/queue.js";
import type { BotContext } from "./context.js";

export interface GenerationRequest {
  prompt: string;
  temperature: number;
  maxTokens: number;
  seed: number;
}

export const QUEUE_UNAVAILABLE =
  "The queue is unavailable right now (cannot reach Redis), so nothing was queued. Please try again in a minute.";

const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: "exponential", delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

async function answerPrivately(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  content: string,
): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

/** Redis must answer well within Discord's 3-second window for the first reply. */
const REDIS_DEADLINE_MS = 2000;

/** Runs Redis work, failing fast when the connection is down or slow. */
export async function withRedis<T>(ctx: BotContext, work: () => Promise<T>): Promise<T> {
  if (!ctx.redisReady()) throw new Error("Redis connection is not ready");
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Redis did not answer in time")), REDIS_DEADLINE_MS);
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Takes the user's cooldown and a queue slot; returns a refusal to show, or undefined to go ahead. */
async function reserve(
  ctx: BotContext,
  userId: string,
  guildId: string | null,
  jobId: string,
): Promise<string | undefined> {
  const { queue: settings } = ctx.config;
  const wait = await ctx.limits.startCooldown(userId, settings.cooldownMs);
  if (wait > 0) return `Easy there: you can ask again in ${Math.ceil(wait / 1000)} s.`;
  const slot = await ctx.limits.reserve(guildId, userId, jobId, settings);
  if (slot.ok) return undefined;
  await ctx.limits.clearCooldown(userId); // refused by a cap: they may try again as soon as there is room
  return slot.full === "everything"
    ? `The queue is full (${slot.count} generations waiting or running). Please try again in a minute.`
    : `This server's queue is full (${slot.count} of ${settings.maxPerGuild} generations waiting or running). Please try again in a minute.`;
}

export async function enqueueGeneration(
  ctx: BotContext,
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  request: GenerationRequest,
): Promise<void> {
  const userId = interaction.user.id;
  const guildId = interaction.guildId;
  const jobId = randomUUID();
  let refused: string | undefined;
  try {
    refused = await withRedis(ctx, () => reserve(ctx, userId, guildId, jobId));
  } catch (error) {
    ctx.log(`redis unavailable at command time: ${(error as Error).message}`);
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }
  if (refused) return answerPrivately(interaction, refused);

  await interaction.deferReply();
  const job: WeirdJob = {
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    interactionAt: interaction.createdTimestamp,
    guildId,
    channelId: interaction.channelId,
    userId,
    ...request,
  };
  // The reply says "queued" before the job exists: a fast worker's result must not be
  // overwritten by a late "queued" edit. If Discord fails here, the worker's edits still come.
  const position = (await withRedis(ctx, () => ctx.queue.getWaitingCount()).catch(() => 0)) + 1;
  const place = position === 1 ? "next in the queue" : `#${position} in the queue`;
  await interaction
    .editReply({
      content: `Queued at **${formatTemperature(request.temperature)}** (seed ${request.seed}): ${place}.`,
      allowedMentions: NO_MENTIONS,
    })
    .catch((error: Error) => ctx.log(`could not show the queue position: ${error.message}`));
  try {
    await ctx.queue.add("weird", job, { ...JOB_OPTIONS, jobId });
  } catch (error) {
    // A timeout can come after Redis took the job: only undo what really did not happen.
    if (await ctx.queue.getJob(jobId).catch(() => undefined)) return;
    ctx.log(`enqueue failed: ${(error as Error).message}`);
    await ctx.limits.clearCooldown(userId).catch(() => undefined);
    await ctx.limits.release(guildId, userId, jobId).catch(() => undefined);
    await interaction.editReply({ content: QUEUE_UNAVAILABLE, allowedMentions: NO_MENTIONS });
  }
}
