// "How weird is this?" (Apps menu on any message): the message's weirdness score, for the
// member alone. Scored by a worker, through the queue: the bot has no model (loading one per
// bot process would double the memory and block the gateway while it evaluates), and the
// worker's context pool and concurrency are what keep llama.cpp within its cores. A score is
// one batched evaluation, far shorter than a generation, so it goes ahead of them (priority 1);
// so that it cannot flood the workers, it takes a queue place under the same caps as a
// generation, and each member waits SCORE_COOLDOWN_MS between scores (a cooldown of its own:
// a score never holds back a generation).
import { randomUUID } from "node:crypto";
import { MessageFlags, type MessageContextMenuCommandInteraction } from "discord.js";
import {
  answerPrivately,
  messageCommandDefinition,
  QUEUE_UNAVAILABLE,
  type BotContext,
} from "../interactions/context.js";
import { capText, namesIn, plainMessageText } from "../discord/messageText.js";
import { NO_MENTIONS } from "../discord/format.js";
import { SCORE_JOB, type ScoreJob } from "../job.js";
import { routeRequest } from "../store/models.js";
import { withRedis } from "../store/redis.js";
import { refusals } from "../observability/metrics.js";

export const NAME = "How weird is this?";

export const NO_TEXT = "That message has no text to score (only an image, embed, sticker or poll).";

const JOB_OPTIONS = { attempts: 2, removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: { age: 24 * 3600 } };

/** Least time between one member's scores, in one server (or in DMs). */
export const SCORE_COOLDOWN_MS = 5000;

export function definition() {
  return messageCommandDefinition(NAME);
}

export async function execute(interaction: MessageContextMenuCommandInteraction, ctx: BotContext): Promise<void> {
  const text = plainMessageText(interaction.targetMessage.content, namesIn(interaction.targetMessage));
  if (text === "") return answerPrivately(interaction, NO_TEXT);
  // The same cap as a prompt: a score costs one evaluation of every token.
  const { text: scored, cut } = capText(text, ctx.config.limits.maxPromptCharacters);
  const jobId = randomUUID();
  let refusal: string | undefined;
  let admitting: Promise<string | undefined> | undefined;
  try {
    refusal = await withRedis(ctx, () => (admitting = admit(ctx, interaction.guildId, interaction.user.id, jobId)));
  } catch (error) {
    // As for a generation: whatever Redis takes after the deadline is given back.
    const undo = () => giveBack(ctx, interaction.guildId, interaction.user.id, jobId);
    void admitting?.then(late => (late === undefined ? undo() : undefined), undo);
    ctx.log(`score admission failed: ${(error as Error).message}`, { guildId: interaction.guildId });
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }
  if (refusal) return answerPrivately(interaction, refusal);
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  } catch (error) {
    await giveBack(ctx, interaction.guildId, interaction.user.id, jobId);
    throw error;
  }
  const job: ScoreJob = {
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    interactionAt: interaction.createdTimestamp,
    guildId: interaction.guildId,
    userId: interaction.user.id,
    text: scored,
  };
  // Said before the job exists, so it cannot land after a fast worker's answer.
  await interaction
    .editReply({ content: "Scoring that message…", allowedMentions: NO_MENTIONS })
    .catch((error: Error) => ctx.log(`could not say the score is coming: ${error.message}`));
  try {
    // Any model's worker can score: the shared queue's, else the first live model's.
    const route = routeRequest(await withRedis(ctx, () => ctx.models.models()));
    const queue = "queue" in route ? ctx.queues.get(route.queue) : ctx.queue;
    await withRedis(ctx, () => queue.add(SCORE_JOB, job, { ...JOB_OPTIONS, jobId, priority: 1 }));
  } catch (error) {
    ctx.log(`score enqueue failed: ${(error as Error).message}`, { guildId: interaction.guildId });
    await giveBack(ctx, interaction.guildId, interaction.user.id, jobId);
    await interaction.editReply({ content: QUEUE_UNAVAILABLE, allowedMentions: NO_MENTIONS });
    return;
  }
  if (cut)
    await interaction
      .followUp({
        content: `That message is ${text.length} characters long; only its first ${scored.length} are scored.`,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_MENTIONS,
      })
      .catch((error: Error) => ctx.log(`could not tell the member the text was cut: ${error.message}`));
}

/** The member's score cooldown, and a place under the queue's caps; a refusal to show, or undefined. */
async function admit(ctx: BotContext, guildId: string | null, userId: string, jobId: string) {
  const wait = await ctx.throttle.startCooldown(guildId, userId, jobId, SCORE_COOLDOWN_MS, "score");
  if (wait > 0) {
    refusals.inc({ reason: "cooldown" });
    return `Easy there: you can score another message in ${Math.ceil(wait / 1000)} s.`;
  }
  const place = await ctx.throttle.claimPlace(guildId, userId, jobId, ctx.config.queue);
  if (place.ok) return undefined;
  await ctx.throttle.clearCooldown(guildId, userId, jobId, "score");
  refusals.inc({ reason: place.full === "everything" ? "queue_full" : "server_queue_full" });
  return place.full === "everything"
    ? `The queue is full (${place.count} requests waiting or running), so nothing was scored. Please try again in a minute.`
    : `This server's queue is full (${place.count} of ${ctx.config.queue.maxPerGuild} requests waiting or running), so nothing was scored. Please try again in a minute.`;
}

/** Undoes an admission whose job will not run. */
async function giveBack(ctx: BotContext, guildId: string | null, userId: string, jobId: string): Promise<void> {
  await ctx.throttle.freePlace(jobId).catch(() => undefined);
  await ctx.throttle.clearCooldown(guildId, userId, jobId, "score").catch(() => undefined);
}
