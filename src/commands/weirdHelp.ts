// /weird-help: what negative temperature is, in two short paragraphs, how the game is scored,
// and this server's defaults.
import { SlashCommandBuilder, type ChatInputCommandInteraction } from "discord.js";
import { ANYWHERE, answerPrivately, type BotContext } from "../interactions/context.js";
import { settingsFor } from "../game/context.js";
import { temperatureText, tokensText } from "../discord/settingsMessages.js";
import { SWEEP_LADDER_TEXT } from "../engine/sweep.js";

export function definition() {
  return new SlashCommandBuilder()
    .setName("weird-help")
    .setDescription("What sampling below absolute zero means")
    .setIntegrationTypes(...ANYWHERE.integrationTypes)
    .setContexts(...ANYWHERE.contexts);
}

export const HELP_TEXT = [
  "A language model picks each next token from a Boltzmann distribution, p ∝ exp(z/T), where z is the model's score for a token. " +
    "At T = 1 you get its usual style, near T = 0⁺ always its favourite token, and at large T anything goes. " +
    "β = 1/T is the inverse temperature: it is shown beside T on every result.",
  "Below zero the order flips: p ∝ exp(−z/|T|), so the tokens the model thinks *least* likely win. " +
    "At T = −0.001 (β = −1000) you get the model's single least likely token over and over, often an odd fragment repeated in a loop; " +
    "at T = −1 a wilder mix of improbable pieces. Use `/weird prompt:… temp:-0.001`, vote for the strangest outputs, and reroll or flip the sign with the buttons.",
  "**Weirdness** on each result is how surprised the model is by its own output: the mean surprisal of its tokens at T = 1, in nats per token " +
    "(about 0.5 for its favourite continuation, 25 or more for the least likely one). " +
    `\`/weird-sweep prompt:…\` runs one prompt at T = ${SWEEP_LADDER_TEXT} and charts weirdness against β; ` +
    "`/weird-compare prompt:… model1:… model2:…` (or `temp2:`) puts models or temperatures side by side.",
  "`/weirdest` and `/weirdest-members` rank this server's outputs and members over rolling windows: the last 24 hours, 7 days or 30 days counted back from now, or all that is kept. " +
    "`/weird-stats` sums up the server's game. `/weird-models` lists the models you can pick with `/weird model:`. " +
    "`/weird-mine` lists your own outputs, privately, with their full text.",
].join("\n\n");

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  // The explanation does not need Redis: without it, the help still comes, minus this server's part.
  const here = interaction.inGuild() ? "On this server" : "Here";
  const settings = await settingsFor(ctx, interaction.guildId).catch(() => undefined);
  const defaults = settings
    ? `${here}: temperature ${temperatureText(settings.temperature)}; max tokens ${tokensText(settings.maxTokens)}.`
    : "This server's settings are unavailable right now (cannot reach Redis).";
  await answerPrivately(interaction, `${HELP_TEXT}\n\n${defaults}`);
}
