// The buttons under every result: vote (the count is on the label), reroll (same prompt and
// T, new seed), flip (same prompt at −T) and "Why weird?" (a private chart of its tokens). Routed by custom id, so they survive restarts.
import { MessageFlags, type ButtonInteraction } from "discord.js";
import { NO_MENTIONS, parseCustomId } from "../discord/format.js";
import { flipSign, randomSeed } from "../engine/request.js";
import { flipSchedule, formatSchedule, namedTemperatures, temperaturesOf } from "../engine/schedule.js";
import type { OutputRecord } from "../store/outputs.js";
import { answerPrivately, QUEUE_UNAVAILABLE, type BotContext } from "./context.js";
import { withRedis } from "../store/redis.js";
import { enqueueGeneration, outsideServerRange, settingsWhereAllowed } from "./enqueue.js";
import { NO_LONGER_ON_RECORD, VOTES_UNAVAILABLE } from "../game/votes.js";
import { handleVote } from "./votes.js";

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
    if (parsed.action === "why") return await explainWeirdness(interaction, output);
    await regenerate(interaction, ctx, output, parsed.action);
  } finally {
    release?.();
  }
}

/**
 * "Why weird?": where the output turned weird, as a chart, for the member alone. Drawn here
 * (tens of milliseconds) from what the worker recorded: no model, no queue.
 */
async function explainWeirdness(interaction: ButtonInteraction, output: OutputRecord): Promise<void> {
  const { tokenTexts, tokenSurprisals } = output;
  if (!tokenTexts || !tokenSurprisals || tokenTexts.length === 0 || tokenTexts.length !== tokenSurprisals.length)
    return answerPrivately(
      interaction,
      tokenTexts?.length === 0
        ? "This output has no tokens, so there is nothing to chart."
        : "This output was made before belowzero kept each token's surprisal, so it cannot be charted.",
    );
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const temperatures = output.schedule
    ? temperaturesOf(output.schedule, output.maxTokens, { maxAbsTemperature: Number.MAX_VALUE })
    : tokenTexts.map(() => output.temperature);
  let png: Buffer;
  try {
    const { renderTokenChart } = await import("../chart/tokenChart.js");
    png = await renderTokenChart(
      tokenTexts.map((text, i) => ({ text, surprisal: tokenSurprisals[i]!, temperature: temperatures[i]! })),
      {
        title: `${output.schedule ? `schedule ${formatSchedule(output.schedule)}` : `T = ${output.temperature}`}${output.vocab ? ` · vocab ${output.vocab}` : ""} · seed ${output.seed}`,
      },
    );
  } catch (error) {
    await interaction.editReply({ content: `Sorry, the chart could not be drawn: ${(error as Error).message}` });
    return;
  }
  await interaction.editReply({
    content:
      "Each token's surprisal under the model at T = 1 (the weirdness is their mean), and the temperature it was sampled at above.",
    files: [{ attachment: png, name: `belowzero-why-${output.id}.png` }],
    allowedMentions: NO_MENTIONS,
  });
}

async function regenerate(
  interaction: ButtonInteraction,
  ctx: BotContext,
  output: OutputRecord,
  action: "reroll" | "flip",
): Promise<void> {
  const settings = await settingsWhereAllowed(interaction, ctx);
  if (!settings) return;
  // A schedule is rerolled as it is, and flipped as a whole.
  const schedule = output.schedule && (action === "flip" ? flipSchedule(output.schedule) : output.schedule);
  const request = {
    prompt: output.prompt,
    temperature: schedule
      ? namedTemperatures(schedule)[0]!
      : action === "flip"
        ? flipSign(output.temperature)
        : output.temperature,
    ...(schedule && { schedule }),
    // Kept as it was: a reroll or flip of "weird English" stays English.
    ...(output.vocab && { vocab: output.vocab }),
    // And on the same model, when the output knows which.
    ...(output.modelId && { model: output.modelId }),
    // A continued message stays linked.
    ...(output.source && { source: output.source }),
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
      leaves && !schedule
        ? `Flipping to T = ${request.temperature} would leave this server's range (T from ${min} to ${max}), so nothing was queued.`
        : outside,
    );
  }
  await enqueueGeneration(ctx, interaction, request, settings);
}
