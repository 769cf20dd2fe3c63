// The model option of the generating commands, and its autocomplete: the live models from
// the registry (one HGETALL, and the server's allowed list), well within Discord's 3 s.
import type { AutocompleteInteraction, SlashCommandStringOption } from "discord.js";
import { settingsFor } from "../game/context.js";
import { withRedis } from "../store/redis.js";
import { checkModelId, type ModelView } from "../store/models.js";
import type { BotContext } from "./context.js";

/** Discord shows at most 25 suggestions, each at most 100 characters. */
const MAX_CHOICES = 25;

export function modelOption(option: SlashCommandStringOption, name = "model"): SlashCommandStringOption {
  return option
    .setName(name)
    .setDescription("Which model (see /weird-models); default: the server's")
    .setMaxLength(64)
    .setAutocomplete(true);
}

/** "tiny · llama 260K F32 · 2 workers" */
export function modelLabel(model: ModelView): string {
  const workers = model.live.length === 1 ? "1 worker" : `${model.live.length} workers`;
  return `${model.id} · ${model.info.type} · ${workers}`.slice(0, 100);
}

export async function autocompleteModels(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const typed = interaction.options.getFocused().toLowerCase();
  let choices: Array<{ name: string; value: string }> = [];
  try {
    const [models, settings] = await Promise.all([
      withRedis(ctx, () => ctx.models.models()),
      settingsFor(ctx, interaction.guildId),
    ]);
    const { allowed } = settings.model;
    choices = models
      .filter(m => m.live.length > 0 && (allowed.length === 0 || allowed.includes(m.id)))
      .filter(m => m.id.toLowerCase().includes(typed))
      .slice(0, MAX_CHOICES)
      .map(m => ({ name: modelLabel(m), value: m.id }));
  } catch (error) {
    // No suggestions rather than an error: the command itself says what is wrong.
    ctx.log(`model autocomplete: ${(error as Error).message}`);
  }
  await interaction.respond(choices);
}

/** A leaderboard's model filter: undefined for none; InvalidRequestError for an id that cannot be one. */
export function readModelFilter(typed: string | null): string | undefined {
  return typed === null || typed.trim() === "" ? undefined : checkModelId(typed);
}

/**
 * Suggestions for a leaderboard's model filter: the models this server's outputs on record
 * were made with (one SMEMBERS), live or not: a model whose workers are gone still has its board.
 */
export async function autocompleteModelFilter(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const typed = interaction.options.getFocused().toLowerCase();
  let choices: Array<{ name: string; value: string }> = [];
  try {
    const ids =
      interaction.guildId === null ? [] : await withRedis(ctx, () => ctx.community.models(interaction.guildId!));
    choices = ids
      .filter(id => id.toLowerCase().includes(typed))
      .sort((a, b) => a.localeCompare(b))
      .slice(0, MAX_CHOICES)
      .map(id => ({ name: id, value: id }));
  } catch (error) {
    ctx.log(`model filter autocomplete: ${(error as Error).message}`);
  }
  await interaction.respond(choices);
}
