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

export const QUEUE_UNAVAILABLE = "The queue is unavailable right now (cannot reach Redis), so nothing was queued. Please try again in a minute.";

const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: "exponential", delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

async function answerPrivately(interaction: ChatInputCommandInteraction | ButtonInteraction, content: string): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

/** Redis must answer well within Discord's 3-second window for the first reply. */
const REDIS_DEADLINE_MS = 2000;

/** Runs Redis work, failing fast when the connection is down or slow. */
export async function withRedis<T>(ctx: BotContext, work: () => Promise<T>): Promise<T> {
  if (!ctx.redisReady()) throw new Error("Redis connection is not ready");
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error("Redis did not answer in time")), REDIS_DEADLINE_MS); });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks cooldown and caps; returns a refusal to show the user, or undefined to go ahead. */
async function refusal(ctx: BotContext, userId: string, guildId: string | null): Promise<string | undefined> {
  const { queue: settings } = ctx.config;
  const wait = await ctx.limits.startCooldown(userId, settings.cooldownMs);
  if (wait > 0) return `Easy there: you can ask again in ${Math.ceil(wait / 1000)} s.`;
  const counts = await ctx.queue.getJobCounts("waiting", "active", "delayed", "prioritized");
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total >= settings.maxTotal) return `The queue is full (${total} generations waiting or running). Please try again in a minute.`;
  const pending = await ctx.limits.pendingCount(guildId, userId);
  if (pending >= settings.maxPerGuild) return `This server's queue is full (${pending} of ${settings.maxPerGuild} generations waiting or running). Please try again in a minute.`;
  return undefined;
}

export async function enqueueGeneration(ctx: BotContext, interaction: ChatInputCommandInteraction | ButtonInteraction, request: GenerationRequest): Promise<void> {
  const userId = interaction.user.id;
  const guildId = interaction.guildId;
  let refused: string | undefined;
  try {
    refused = await withRedis(ctx, () => refusal(ctx, userId, guildId));
  } catch (error) {
    ctx.log(`redis unavailable at command time: ${(error as Error).message}`);
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }
  if (refused) {
    if (!refused.startsWith("Easy")) await ctx.limits.clearCooldown(userId).catch(() => undefined);
    return answerPrivately(interaction, refused);
  }

  await interaction.deferReply();
  const job: WeirdJob = {
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    interactionAt: interaction.createdTimestamp,
    guildId, channelId: interaction.channelId!, userId, ...request,
  };
  const jobId = randomUUID();
  try {
    // The reply says "queued" before the job exists: a fast worker's result must not be
    // overwritten by a late "queued" edit.
    const position = (await ctx.queue.getWaitingCount()) + 1;
    const place = position === 1 ? "next in the queue" : `#${position} in the queue`;
    await interaction.editReply({ content: `Queued at **${formatTemperature(request.temperature)}** (seed ${request.seed}): ${place}.`, allowedMentions: NO_MENTIONS });
    await ctx.limits.addPending(guildId, userId, jobId);
    await ctx.queue.add("weird", job, { ...JOB_OPTIONS, jobId });
  } catch (error) {
    ctx.log(`enqueue failed: ${(error as Error).message}`);
    await ctx.limits.clearCooldown(userId).catch(() => undefined);
    await ctx.limits.removePending(guildId, userId, jobId).catch(() => undefined);
    await interaction.editReply({ content: QUEUE_UNAVAILABLE, allowedMentions: NO_MENTIONS });
  }
}
