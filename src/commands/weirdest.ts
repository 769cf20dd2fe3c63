// /weirdest [period] [by] [member] — this server's top 10 in a rolling window. Public: the
// board is the game's scoreboard, made of messages the server can already see, and nobody
// is pinged; mistakes and outages are answered privately.
import {
  ApplicationIntegrationType,
  InteractionContextType,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
} from "discord.js";
import { weirdestMessage } from "../discord/communityMessages.js";
import {
  BOARDS_UNAVAILABLE,
  PERIOD_CHOICES,
  parsePeriod,
  parseRanking,
  SERVER_ONLY,
  UNKNOWN_PERIOD,
  UNKNOWN_RANKING,
} from "../game/leaderboards.js";
import { answerPrivately, notInstalledInServer, type BotContext } from "../interactions/context.js";
import { withRedis } from "../store/redis.js";
import { InvalidRequestError } from "../engine/request.js";
import { modelOption, readModelFilter } from "../interactions/modelOption.js";

export function definition() {
  return new SlashCommandBuilder()
    .setName("weirdest")
    .setDescription("This server's weirdest outputs")
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
    .setContexts(InteractionContextType.Guild)
    .addStringOption(o =>
      o
        .setName("period")
        .setDescription("Rolling window (default: last 7 days)")
        .addChoices(...PERIOD_CHOICES),
    )
    .addStringOption(o =>
      o
        .setName("by")
        .setDescription("Rank by votes (default) or by weirdness (surprisal, nats/token)")
        .addChoices({ name: "votes", value: "votes" }, { name: "weirdness", value: "weirdness" }),
    )
    .addUserOption(o => o.setName("member").setDescription("Only this member's outputs"))
    .addStringOption(o => modelOption(o).setDescription("Only outputs made with this model"));
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.inGuild()) return answerPrivately(interaction, SERVER_ONLY);
  const elsewhere = notInstalledInServer(interaction, "Leaderboards");
  if (elsewhere) return answerPrivately(interaction, elsewhere);
  const period = parsePeriod(interaction.options.getString("period"));
  if (!period) return answerPrivately(interaction, UNKNOWN_PERIOD);
  const by = parseRanking(interaction.options.getString("by"));
  if (!by) return answerPrivately(interaction, UNKNOWN_RANKING);
  const member = interaction.options.getUser("member");
  let modelId;
  try {
    modelId = readModelFilter(interaction.options.getString("model"));
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    return answerPrivately(interaction, error.message);
  }
  if (member && modelId)
    return answerPrivately(interaction, "Filter by member or by model, not both: leave one of them out.");
  let entries;
  try {
    entries = await withRedis(ctx, () =>
      ctx.community.weirdest(interaction.guildId, {
        period,
        by,
        ...(member && { memberId: member.id }),
        ...(modelId && { modelId }),
      }),
    );
  } catch {
    return answerPrivately(interaction, BOARDS_UNAVAILABLE);
  }
  await interaction.reply(
    weirdestMessage(entries, {
      period,
      by,
      retentionDays: ctx.config.records.retentionDays,
      ...(member && { memberId: member.id }),
      ...(modelId && { modelId }),
    }),
  );
}
