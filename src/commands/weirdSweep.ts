// /weird-sweep prompt:… max_tokens:… seed:… — the same prompt along a ladder of temperatures,
// one queued job and one message: a table with each row's weirdness, and a chart of weirdness
// against β = 1/T. It counts as one request against cooldowns and caps.
import { SlashCommandBuilder, type ChatInputCommandInteraction } from "discord.js";
import { DEFAULT_SWEEP_TEMPERATURES, SWEEP_LADDER_TEXT } from "../engine/sweep.js";
import { checkMaxTokens, checkPrompt, checkSeed, MAX_SEED } from "../engine/request.js";
import type { ServerSettings } from "../store/settings.js";
import { ANYWHERE, answerPrivately, type BotContext } from "../interactions/context.js";
import { enqueueFromOptions, promptOption, settingsWhereAllowed } from "../interactions/enqueue.js";

export function definition(ctx: Pick<BotContext, "config">) {
  const { limits } = ctx.config;
  return new SlashCommandBuilder()
    .setName("weird-sweep")
    .setDescription(`One prompt at T = ${SWEEP_LADDER_TEXT}, with a chart of weirdness against β = 1/T`)
    .setIntegrationTypes(...ANYWHERE.integrationTypes)
    .setContexts(...ANYWHERE.contexts)
    .addStringOption(o => promptOption(o, limits))
    .addIntegerOption(o =>
      o.setName("max_tokens").setDescription("Tokens per row").setMinValue(1).setMaxValue(limits.maxTokensCap),
    )
    .addIntegerOption(o =>
      o
        .setName("seed")
        .setDescription("Seed for every row, for a reproducible sweep")
        .setMinValue(0)
        .setMaxValue(MAX_SEED),
    );
}

/** The ladder rungs this server and the operator allow. */
export function sweepLadder(settings: ServerSettings, maxAbsTemperature: number): number[] {
  const { min, max } = settings.temperature;
  return DEFAULT_SWEEP_TEMPERATURES.filter(t => t >= min && t <= max && Math.abs(t) <= maxAbsTemperature);
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const settings = await settingsWhereAllowed(interaction, ctx);
  if (!settings) return;
  const ladder = sweepLadder(settings, ctx.config.limits.maxAbsTemperature);
  if (ladder.length === 0) {
    const { min, max } = settings.temperature;
    return answerPrivately(
      interaction,
      `This server allows T from ${min} to ${max}: no rung of the sweep's ladder fits.`,
    );
  }
  const { options } = interaction;
  const { limits } = ctx.config;
  await enqueueFromOptions(ctx, interaction, settings, () => ({
    prompt: checkPrompt(options.getString("prompt", true), limits),
    temperature: ladder[0]!,
    maxTokens: checkMaxTokens(options.getInteger("max_tokens") ?? settings.maxTokens.default, limits),
    seed: checkSeed(options.getInteger("seed") ?? undefined),
    sweep: ladder,
    ...(settings.vocab !== "any" && { vocab: settings.vocab }),
  }));
}
