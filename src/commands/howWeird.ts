// "How weird is this?" (Apps menu on any message): the message's weirdness score, for the
// member alone. Scored by a worker, through the queue: the bot has no model (loading one per
// bot process would double the memory and block the gateway while it evaluates), and the
// worker's context pool and concurrency are what keep llama.cpp within its cores. A score is
// one batched evaluation, far shorter than a generation, so it goes ahead of them (priority 1).
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

export const NAME = "How weird is this?";

export const NO_TEXT = "That message has no text to score (only an image, embed, sticker or poll).";

const JOB_OPTIONS = { attempts: 2, removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: { age: 24 * 3600 } };

export function definition() {
  return messageCommandDefinition(NAME);
}

export async function execute(interaction: MessageContextMenuCommandInteraction, ctx: BotContext): Promise<void> {
  const text = plainMessageText(interaction.targetMessage.content, namesIn(interaction.targetMessage));
  if (text === "") return answerPrivately(interaction, NO_TEXT);
  // The same cap as a prompt: a score costs one evaluation of every token.
  const { text: scored, cut } = capText(text, ctx.config.limits.maxPromptCharacters);
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
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
    await withRedis(ctx, () => queue.add(SCORE_JOB, job, { ...JOB_OPTIONS, jobId: randomUUID(), priority: 1 }));
  } catch (error) {
    ctx.log(`score enqueue failed: ${(error as Error).message}`, { guildId: interaction.guildId });
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
