// /weirdest [period] [by] [member] — this server's top 10 in a rolling window. Public: the
// board is the game's scoreboard, made of messages the server can already see, and nobody
// is pinged; mistakes and outages are answered privately.
import { InteractionContextType, SlashCommandBuilder, type ChatInputCommandInteraction } from "discord.js";
import { weirdestMessage } from "../discord/communityMessages.js";
import { PERIODS, type Period, type RankedBy } from "../store/keys.js";
import { answerPrivately, withRedis, type BotContext } from "../interactions/context.js";

export const BOARDS_UNAVAILABLE =
  "The leaderboards are unavailable right now (cannot reach Redis). Please try again in a minute.";
export const SERVER_ONLY = "Leaderboards belong to a server: use this command in one.";
const RANKINGS: readonly RankedBy[] = ["votes", "weirdness"];

export const PERIOD_CHOICES = [
  { name: "last 24 hours", value: "day" },
  { name: "last 7 days", value: "week" },
  { name: "last 30 days", value: "month" },
  { name: "all time (what is kept)", value: "all" },
] as const;

export function definition() {
  return new SlashCommandBuilder()
    .setName("weirdest")
    .setDescription("This server's weirdest outputs")
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
    .addUserOption(o => o.setName("member").setDescription("Only this member's outputs"));
}

/** The period option, checked here too: Discord's choices are not enforced by every client or proxy. */
export function periodOption(interaction: ChatInputCommandInteraction): Period | undefined {
  const period = interaction.options.getString("period") ?? "week";
  return (PERIODS as readonly string[]).includes(period) ? (period as Period) : undefined;
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.inGuild()) return answerPrivately(interaction, SERVER_ONLY);
  const period = periodOption(interaction);
  if (!period) return answerPrivately(interaction, "Unknown period: choose day, week, month or all.");
  const by = interaction.options.getString("by") ?? "votes";
  if (!(RANKINGS as readonly string[]).includes(by))
    return answerPrivately(interaction, "Unknown ranking: choose votes or weirdness.");
  const member = interaction.options.getUser("member");
  let entries;
  try {
    entries = await withRedis(ctx, () =>
      ctx.community.weirdest(interaction.guildId, {
        period,
        by: by as RankedBy,
        ...(member && { memberId: member.id }),
      }),
    );
  } catch {
    return answerPrivately(interaction, BOARDS_UNAVAILABLE);
  }
  await interaction.reply(
    weirdestMessage(entries, {
      period,
      by: by as RankedBy,
      retentionDays: ctx.config.records.retentionDays,
      ...(member && { memberId: member.id }),
    }),
  );
}
