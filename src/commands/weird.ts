// /weird prompt:… temp:… max_tokens:… seed:…
import { PermissionFlagsBits, SlashCommandBuilder, type ChatInputCommandInteraction } from "discord.js";
import { enqueueGeneration, outsideServerChannels, outsideServerRange } from "./enqueue.js";
import { answerPrivately, QUEUE_UNAVAILABLE, settingsFor, type BotContext } from "./context.js";
import type { WeirdRequest } from "../store/queue.js";
import {
  checkMaxTokens,
  checkPrompt,
  checkTemperature,
  InvalidRequestError,
  MAX_SEED,
  checkSeed,
} from "../engine/request.js";

/** Discord caps string options at 6000 characters. */
const DISCORD_MAX_OPTION_LENGTH = 6000;

export function definition(ctx: Pick<BotContext, "config">) {
  const { limits } = ctx.config;
  return new SlashCommandBuilder()
    .setName("weird")
    .setDescription("Continue a prompt at any temperature, below zero included")
    .addStringOption(o =>
      o
        .setName("prompt")
        .setDescription("The text to continue")
        .setRequired(true)
        .setMaxLength(Math.min(limits.maxPromptCharacters, DISCORD_MAX_OPTION_LENGTH)),
    )
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
  // Checked here too, not only by the command's defaults: a channel may allow commands but not messages.
  if (interaction.inGuild() && !interaction.memberPermissions?.has(PermissionFlagsBits.SendMessages)) {
    return answerPrivately(interaction, "You can't post messages in this channel, so /weird can't either.");
  }
  let settings;
  try {
    settings = await settingsFor(ctx, interaction.guildId);
  } catch (error) {
    ctx.log(`redis unavailable at command time: ${(error as Error).message}`);
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }
  const elsewhere = outsideServerChannels(interaction, settings);
  if (elsewhere) return answerPrivately(interaction, elsewhere);
  const { limits } = ctx.config;
  const { options } = interaction;
  let request: WeirdRequest;
  // Every option is checked here: Discord's own min/max/length are not enforced by every client or proxy.
  // Options left out take the server's defaults; what the member typed must also fit the server's range.
  try {
    request = {
      prompt: checkPrompt(options.getString("prompt", true), limits),
      temperature: checkTemperature(options.getNumber("temp") ?? settings.temperature.default, limits),
      maxTokens: checkMaxTokens(options.getInteger("max_tokens") ?? settings.maxTokens.default, limits),
      seed: checkSeed(options.getInteger("seed") ?? undefined),
    };
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    return answerPrivately(interaction, error.message);
  }
  const outside = outsideServerRange(request, settings);
  if (outside) return answerPrivately(interaction, outside);
  await enqueueGeneration(ctx, interaction, request, settings);
}
