// The buttons under every result: vote (the count is on the label), reroll (same prompt and
// T, new seed) and flip (same prompt at −T). Routed by custom id, so they survive restarts.
import type { ButtonInteraction } from "discord.js";
import { parseCustomId } from "../discord/format.js";
import { flipSign, randomSeed } from "../engine/request.js";
import type { OutputRecord } from "../store/outputs.js";
import { answerPrivately, QUEUE_UNAVAILABLE, withRedis, type BotContext } from "./context.js";
import { enqueueGeneration, outsideServerRange, settingsWhereAllowed } from "./enqueue.js";
import { handleVote, NO_LONGER_ON_RECORD, VOTES_UNAVAILABLE } from "./votes.js";

export async function handleButton(interaction: ButtonInteraction, ctx: BotContext): Promise<void> {
  const parsed = parseCustomId(interaction.customId);
  if (!parsed)
    return answerPrivately(interaction, "This button is from an older version of the bot and no longer works.");
  // Taken before the first await, so settled() knows a vote's follow-up edit is on its way.
  const release = parsed.action === "vote" ? ctx.refreshes.hold() : undefined;
  try {
    let output;
    try {
      output = await withRedis(ctx, () => ctx.outputs.get(parsed.outputId));
    } catch {
      return answerPrivately(interaction, parsed.action === "vote" ? VOTES_UNAVAILABLE : QUEUE_UNAVAILABLE);
    }
    if (!output) return answerPrivately(interaction, NO_LONGER_ON_RECORD);
    if (parsed.action === "vote") return await handleVote(interaction, ctx, output);
    await regenerate(interaction, ctx, output, parsed.action);
  } finally {
    release?.();
  }
}

async function regenerate(
  interaction: ButtonInteraction,
  ctx: BotContext,
  output: OutputRecord,
  action: "reroll" | "flip",
): Promise<void> {
  const settings = await settingsWhereAllowed(interaction, ctx);
  if (!settings) return;
  const request = {
    prompt: output.prompt,
    temperature: action === "flip" ? flipSign(output.temperature) : output.temperature,
    maxTokens: output.maxTokens,
    seed: randomSeed(),
  };
  // The server's range may have narrowed since the output was made; a flip may leave it.
  const outside = outsideServerRange(request, settings);
  if (outside) {
    const { min, max } = settings.temperature;
    const leaves = action === "flip" && (request.temperature < min || request.temperature > max);
    return answerPrivately(
      interaction,
      leaves
        ? `Flipping to T = ${request.temperature} would leave this server's range (T from ${min} to ${max}), so nothing was queued.`
        : outside,
    );
  }
  await enqueueGeneration(ctx, interaction, request, settings);
}
