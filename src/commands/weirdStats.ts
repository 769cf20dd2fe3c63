// /weird-stats — this server's game in numbers, over what is kept. Public, like /weirdest.
import {
  ApplicationIntegrationType,
  InteractionContextType,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
} from "discord.js";
import { statsMessage } from "../discord/communityMessages.js";
import { answerPrivately, notInstalledInServer, type BotContext } from "../interactions/context.js";
import { withRedis } from "../store/redis.js";
import { InvalidRequestError } from "../engine/request.js";
import { modelOption, readModelFilter } from "../interactions/modelOption.js";
import { BOARDS_UNAVAILABLE, SERVER_ONLY } from "../game/leaderboards.js";

export function definition() {
  return new SlashCommandBuilder()
    .setName("weird-stats")
    .setDescription("This server's outputs, votes, players and temperatures")
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
    .setContexts(InteractionContextType.Guild)
    .addStringOption(o => modelOption(o).setDescription("Only outputs made with this model"));
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.inGuild()) return answerPrivately(interaction, SERVER_ONLY);
  const elsewhere = notInstalledInServer(interaction, "Stats");
  if (elsewhere) return answerPrivately(interaction, elsewhere);
  let modelId;
  try {
    modelId = readModelFilter(interaction.options.getString("model"));
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    return answerPrivately(interaction, error.message);
  }
  let stats;
  try {
    stats = await withRedis(ctx, () => ctx.community.stats(interaction.guildId, Date.now(), modelId));
  } catch {
    return answerPrivately(interaction, BOARDS_UNAVAILABLE);
  }
  await interaction.reply(statsMessage(stats, ctx.config.records.retentionDays, modelId));
}
