// /weirdest-members [period] — members ranked by the votes their outputs received in a
// rolling window, with how many outputs they made. Public, like /weirdest.
import {
  ApplicationIntegrationType,
  InteractionContextType,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
} from "discord.js";
import { membersMessage } from "../discord/communityMessages.js";
import { answerPrivately, notInstalledInServer, type BotContext } from "../interactions/context.js";
import { withRedis } from "../store/redis.js";
import { BOARDS_UNAVAILABLE, PERIOD_CHOICES, parsePeriod, SERVER_ONLY, UNKNOWN_PERIOD } from "../game/leaderboards.js";

export function definition() {
  return new SlashCommandBuilder()
    .setName("weirdest-members")
    .setDescription("Members ranked by the votes their outputs received")
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
    .setContexts(InteractionContextType.Guild)
    .addStringOption(o =>
      o
        .setName("period")
        .setDescription("Rolling window (default: last 7 days)")
        .addChoices(...PERIOD_CHOICES),
    );
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.inGuild()) return answerPrivately(interaction, SERVER_ONLY);
  const elsewhere = notInstalledInServer(interaction, "Leaderboards");
  if (elsewhere) return answerPrivately(interaction, elsewhere);
  const period = parsePeriod(interaction.options.getString("period"));
  if (!period) return answerPrivately(interaction, UNKNOWN_PERIOD);
  let entries;
  try {
    entries = await withRedis(ctx, () => ctx.community.members(interaction.guildId, period));
  } catch {
    return answerPrivately(interaction, BOARDS_UNAVAILABLE);
  }
  await interaction.reply(membersMessage(entries, period, ctx.config.records.retentionDays));
}
