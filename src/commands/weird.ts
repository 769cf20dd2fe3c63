// /weird prompt:… temp:… schedule:… vocab:… max_tokens:… seed:… model:…
import { SlashCommandBuilder, type ChatInputCommandInteraction } from "discord.js";
import { enqueueFromOptions, promptOption, settingsWhereAllowed } from "../interactions/enqueue.js";
import { ANYWHERE, type BotContext } from "../interactions/context.js";
import {
  checkMaxTokens,
  checkPrompt,
  checkTemperature,
  InvalidRequestError,
  MAX_SEED,
  checkSeed,
  checkVocabulary,
} from "../engine/request.js";
import { namedTemperatures, parseSchedule } from "../engine/schedule.js";
import { checkModelId } from "../store/models.js";
import { modelOption } from "../interactions/modelOption.js";
import { VOCABULARIES, VOCABULARY_DESCRIPTIONS } from "../engine/vocabulary.js";

export function definition(ctx: Pick<BotContext, "config">) {
  const { limits } = ctx.config;
  return new SlashCommandBuilder()
    .setName("weird")
    .setDescription("Continue a prompt at any temperature, below zero included")
    .setIntegrationTypes(...ANYWHERE.integrationTypes)
    .setContexts(...ANYWHERE.contexts)
    .addStringOption(o => promptOption(o, limits))
    .addNumberOption(o =>
      o
        .setName("temp")
        .setDescription("Temperature T; below zero the least likely tokens win (e.g. -0.001)")
        .setMinValue(-limits.maxAbsTemperature)
        .setMaxValue(limits.maxAbsTemperature),
    )
    .addStringOption(o =>
      o
        .setName("schedule")
        .setDescription("A temperature per token instead of temp: A..B anneals (1..-1), A/B@N every Nth (0.8/-0.001@4)")
        .setMaxLength(40),
    )
    .addStringOption(o =>
      o
        .setName("vocab")
        .setDescription("Sample only tokens that spell one script (ascii: weird English); default: the server's")
        .addChoices(
          ...VOCABULARIES.map(name => ({
            name: `${name}: ${VOCABULARY_DESCRIPTIONS[name]}`.slice(0, 100),
            value: name,
          })),
        ),
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
    )
    .addStringOption(o => modelOption(o));
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const settings = await settingsWhereAllowed(interaction, ctx);
  if (!settings) return;
  const { limits } = ctx.config;
  const { options } = interaction;
  // Every option is checked here: Discord's own min/max/length are not enforced by every client or proxy.
  // Options left out take the server's defaults; what the member typed must also fit the server's range.
  await enqueueFromOptions(ctx, interaction, settings, () => {
    const prompt = checkPrompt(options.getString("prompt", true), limits);
    const scheduleText = options.getString("schedule");
    if (scheduleText !== null && options.getNumber("temp") !== null)
      throw new InvalidRequestError("Give temp or schedule, not both: a schedule sets the temperature of every token.");
    const schedule = scheduleText === null ? undefined : parseSchedule(scheduleText, limits);
    const vocab = checkVocabulary(options.getString("vocab") ?? settings.vocab);
    const model = options.getString("model");
    return {
      prompt,
      temperature: schedule
        ? namedTemperatures(schedule)[0]!
        : checkTemperature(options.getNumber("temp") ?? settings.temperature.default, limits),
      ...(schedule && { schedule }),
      ...(vocab !== "any" && { vocab }),
      maxTokens: checkMaxTokens(options.getInteger("max_tokens") ?? settings.maxTokens.default, limits),
      seed: checkSeed(options.getInteger("seed") ?? undefined),
      ...(model !== null && { model: checkModelId(model) }),
    };
  });
}
