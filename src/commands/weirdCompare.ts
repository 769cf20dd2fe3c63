// /weird-compare prompt:… temp:… temp2:… model1:… model2:… model3:… max_tokens:… seed:… —
// one prompt and seed on two or three models, or one model at two temperatures, or both:
// every model at every temperature, side by side in one message, each with its own vote.
import { SlashCommandBuilder, type ChatInputCommandInteraction, type SlashCommandNumberOption } from "discord.js";
import {
  checkMaxTokens,
  checkPrompt,
  checkSeed,
  checkTemperature,
  InvalidRequestError,
  MAX_SEED,
} from "../engine/request.js";
import { ANYWHERE, answerPrivately, answersOnlyThroughInteraction, type BotContext } from "../interactions/context.js";
import { enqueueComparison, type WeirdComparison } from "../interactions/comparison.js";
import { outsideServerRange, promptOption, settingsWhereAllowed } from "../interactions/enqueue.js";
import { modelOption } from "../interactions/modelOption.js";
import { checkModelId } from "../store/models.js";
import type { ServerSettings } from "../store/settings.js";

export const MODEL_OPTIONS = ["model1", "model2", "model3"] as const;

export function definition(ctx: Pick<BotContext, "config">) {
  const { limits } = ctx.config;
  const temperature = (name: string, description: string) => (o: SlashCommandNumberOption) =>
    o
      .setName(name)
      .setDescription(description)
      .setMinValue(-limits.maxAbsTemperature)
      .setMaxValue(limits.maxAbsTemperature);
  return new SlashCommandBuilder()
    .setName("weird-compare")
    .setDescription("One prompt and seed on several models, or at two temperatures, side by side")
    .setIntegrationTypes(...ANYWHERE.integrationTypes)
    .setContexts(...ANYWHERE.contexts)
    .addStringOption(o => promptOption(o, limits))
    .addNumberOption(temperature("temp", "Temperature T of every result (e.g. -0.001); default: the server's"))
    .addNumberOption(temperature("temp2", "A second temperature: every model runs at both"))
    .addStringOption(o => modelOption(o, "model1").setDescription("A model to compare (see /weird-models)"))
    .addStringOption(o => modelOption(o, "model2").setDescription("Another model to compare"))
    .addStringOption(o => modelOption(o, "model3").setDescription("A third model to compare"))
    .addIntegerOption(o =>
      o.setName("max_tokens").setDescription("Tokens per result").setMinValue(1).setMaxValue(limits.maxTokensCap),
    )
    .addIntegerOption(o =>
      o
        .setName("seed")
        .setDescription("Seed of every result, for a reproducible comparison")
        .setMinValue(0)
        .setMaxValue(MAX_SEED),
    );
}

/** The comparison the options ask for; InvalidRequestError says what is wrong with them. */
export function readComparison(
  options: ChatInputCommandInteraction["options"],
  settings: ServerSettings,
  limits: BotContext["config"]["limits"],
): WeirdComparison {
  const models: string[] = [];
  for (const name of MODEL_OPTIONS) {
    const typed = options.getString(name);
    if (typed === null) continue;
    const id = checkModelId(typed);
    if (models.includes(id))
      throw new InvalidRequestError(
        `You named ${id} twice. Name different models, or give temp2: to compare one model at two temperatures.`,
      );
    models.push(id);
  }
  const temperature = checkTemperature(options.getNumber("temp") ?? settings.temperature.default, limits);
  const second = options.getNumber("temp2");
  const temperatures = second === null ? [temperature] : [temperature, checkTemperature(second, limits)];
  if (temperatures[1] === temperature)
    throw new InvalidRequestError(`temp2 is the same as temp (${temperature}): give a different one.`);
  const parts = (models.length === 0 ? [undefined] : models).flatMap(model =>
    temperatures.map(t => ({ ...(model !== undefined && { model }), temperature: t })),
  );
  if (parts.length < 2)
    throw new InvalidRequestError(
      "A comparison needs two things to compare: name two or three models (model1:, model2:, model3:), or give temp2: to run one model at two temperatures.",
    );
  return {
    prompt: checkPrompt(options.getString("prompt", true), limits),
    maxTokens: checkMaxTokens(options.getInteger("max_tokens") ?? settings.maxTokens.default, limits),
    seed: checkSeed(options.getInteger("seed") ?? undefined),
    ...(settings.vocab !== "any" && { vocab: settings.vocab }),
    parts,
  };
}

/** Where belowzero is not a member: a comparison's parts have no deadline queueing, and no channel to fall back on. */
export const COMPARE_NEEDS_MEMBER =
  "Comparisons need belowzero in this server or in its DMs: here it can only answer through this command for 15 minutes, and a comparison's parts finish one by one. /weird works here.";

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (answersOnlyThroughInteraction(interaction)) return answerPrivately(interaction, COMPARE_NEEDS_MEMBER);
  const settings = await settingsWhereAllowed(interaction, ctx);
  if (!settings) return;
  let comparison: WeirdComparison;
  try {
    comparison = readComparison(interaction.options, settings, ctx.config.limits);
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    return answerPrivately(interaction, error.message);
  }
  // Each part must fit the server's range, as a /weird of its own would.
  for (const part of comparison.parts) {
    const outside = outsideServerRange({ ...comparison, ...part }, settings);
    if (outside) return answerPrivately(interaction, outside);
  }
  await enqueueComparison(ctx, interaction, comparison, settings);
}
