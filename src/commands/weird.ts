// /weird prompt:… temp:… max_tokens:… seed:…
import { SlashCommandBuilder, type ChatInputCommandInteraction } from "discord.js";
import { enqueueFromOptions, promptOption, settingsWhereAllowed } from "../interactions/enqueue.js";
import type { BotContext } from "../interactions/context.js";
import { checkMaxTokens, checkPrompt, checkTemperature, MAX_SEED, checkSeed } from "../engine/request.js";

export function definition(ctx: Pick<BotContext, "config">) {
  const { limits } = ctx.config;
  return new SlashCommandBuilder()
    .setName("weird")
    .setDescription("Continue a prompt at any temperature, below zero included")
    .addStringOption(o => promptOption(o, limits))
    .addNumberOption(o =>
      o
        .setName("temp")
        .setDescription("Temperature T; below zero the least likely tokens win (e.g. -0.001)")
        .setMinValue(-limits.maxAbsTemperature)
        .setMaxValue(limits.maxAbsTemperature),
    )
    .addIntegerOption(o =>
      o
        .setName("max_tokens")
        .setDescription("How many tokens to generate")
        .setMinValue(1)
        .setMaxValue(limits.maxTokensCap),
    )
    .addIntegerOption(o =>
      o.setName("seed").setDescription("Seed, for a reproducible result").setMinValue(0).setMaxValue(MAX_SEED),
    );
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const settings = await settingsWhereAllowed(interaction, ctx);
  if (!settings) return;
  const { limits } = ctx.config;
  const { options } = interaction;
  // Every option is checked here: Discord's own min/max/length are not enforced by every client or proxy.
  // Options left out take the server's defaults; what the member typed must also fit the server's range.
  await enqueueFromOptions(ctx, interaction, settings, () => ({
    prompt: checkPrompt(options.getString("prompt", true), limits),
    temperature: checkTemperature(options.getNumber("temp") ?? settings.temperature.default, limits),
    maxTokens: checkMaxTokens(options.getInteger("max_tokens") ?? settings.maxTokens.default, limits),
    seed: checkSeed(options.getInteger("seed") ?? undefined),
  }));
}
