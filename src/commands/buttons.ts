// The buttons under every result: vote (the count is on the label), reroll (same prompt and
// T, new seed) and flip (same prompt at −T). Routed by custom id, so they survive restarts.
import type { ButtonInteraction } from "discord.js";
import { NO_MENTIONS, parseCustomId, resultButtons } from "../discord/format.js";
import { flipSign, randomSeed } from "../engine/request.js";
import { answerPrivately, QUEUE_UNAVAILABLE, settingsFor, withRedis, type BotContext } from "./context.js";
import { enqueueGeneration, outsideServerChannels, outsideServerRange } from "./enqueue.js";

export async function handleButton(interaction: ButtonInteraction, ctx: BotContext): Promise<void> {
  const parsed = parseCustomId(interaction.customId);
  if (!parsed)
    return answerPrivately(interaction, "This button is from an older version of the bot and no longer works.");
  let output;
  try {
    output = await withRedis(ctx, () => ctx.outputs.get(parsed.outputId));
  } catch {
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }
  if (!output) return answerPrivately(interaction, "That output is no longer on record.");

  if (parsed.action === "vote") {
    let votes;
    try {
      votes = await withRedis(ctx, () => ctx.outputs.toggleVote(output.id, interaction.user.id, { selfVotes: true }));
    } catch {
      return answerPrivately(
        interaction,
        "Votes are unavailable right now (cannot reach Redis). Please try again in a minute.",
      );
    }
    if (votes.outcome === "expired") return answerPrivately(interaction, "That output is no longer on record.");
    await interaction.update({
      components: [resultButtons(output.id, votes.count, output.temperature)],
      allowedMentions: NO_MENTIONS,
    });
    return;
  }
  let settings;
  try {
    settings = await settingsFor(ctx, interaction.guildId);
  } catch {
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }
  const elsewhere = outsideServerChannels(interaction, settings);
  if (elsewhere) return answerPrivately(interaction, elsewhere);
  const request = {
    prompt: output.prompt,
    temperature: parsed.action === "flip" ? flipSign(output.temperature) : output.temperature,
    maxTokens: output.maxTokens,
    seed: randomSeed(),
  };
  // The server's range may have narrowed since the output was made; a flip may leave it.
  const outside = outsideServerRange(request, settings);
  if (outside) {
    const { min, max } = settings.temperature;
    const leaves = parsed.action === "flip" && (request.temperature < min || request.temperature > max);
    return answerPrivately(
      interaction,
      leaves
        ? `Flipping to T = ${request.temperature} would leave this server's range (T from ${min} to ${max}), so nothing was queued.`
        : outside,
    );
  }
  await enqueueGeneration(ctx, interaction, request, settings);
}
