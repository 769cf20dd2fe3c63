// The buttons under every result: vote (the count is on the label), reroll (same prompt and
// T, new seed) and flip (same prompt at −T). Routed by custom id, so they survive restarts.
import { MessageFlags, type ButtonInteraction } from "discord.js";
import type { BotContext } from "../bot/context.js";
import { enqueueGeneration, QUEUE_UNAVAILABLE, withRedis } from "../bot/enqueue.js";
import { NO_MENTIONS, parseCustomId, resultButtons } from "../discord/format.js";
import { randomSeed } from "../engine/request.js";

async function privately(interaction: ButtonInteraction, content: string): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

export async function handleButton(interaction: ButtonInteraction, ctx: BotContext): Promise<void> {
  const parsed = parseCustomId(interaction.customId);
  if (!parsed) return privately(interaction, "This button is from an older version of the bot and no longer works.");
  let output;
  try {
    output = await withRedis(ctx, () => ctx.outputs.get(parsed.outputId));
  } catch {
    return privately(interaction, QUEUE_UNAVAILABLE);
  }
  if (!output) return privately(interaction, "That output is no longer on record.");

  if (parsed.action === "vote") {
    let votes;
    try {
      votes = await withRedis(ctx, () => ctx.outputs.toggleVote(output.id, interaction.user.id));
    } catch {
      return privately(
        interaction,
        "Votes are unavailable right now (cannot reach Redis). Please try again in a minute.",
      );
    }
    await interaction.update({
      components: [resultButtons(output.id, votes.count, output.temperature)],
      allowedMentions: NO_MENTIONS,
    });
    return;
  }
  const temperature =
    parsed.action === "flip" ? (output.temperature === 0 ? 0 : -output.temperature) : output.temperature;
  await enqueueGeneration(ctx, interaction, {
    prompt: output.prompt,
    temperature,
    maxTokens: output.maxTokens,
    seed: randomSeed(),
  });
}
