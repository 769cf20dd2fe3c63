// /weird-mine: the member's own recent outputs, privately, newest first, a page at a time,
// each with a button for its full text. Where a result could not be shown (its reply window
// closed first, where belowzero is not a member) this is where it is found. Works anywhere:
// the list is the member's, from every server and DM.
import {
  MessageFlags,
  SlashCommandBuilder,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
} from "discord.js";
import { ANYWHERE, answerPrivately, type BotContext } from "../interactions/context.js";
import type { MessageBody } from "../discord/format.js";
import {
  MINE_PAGE,
  MINE_PAGE_SIZE,
  MINE_TEXT,
  minePageMessage,
  mineTextMessage,
  pageCount,
} from "../discord/mineMessages.js";
import { withRedis } from "../store/redis.js";

export const MINE_UNAVAILABLE =
  "Your outputs are unavailable right now (cannot reach Redis). Please try again in a minute.";

export const NOT_YOURS = "Only the member who made an output can open it from /weird-mine.";

export function definition() {
  return new SlashCommandBuilder()
    .setName("weird-mine")
    .setDescription("Your own recent outputs, privately (also those that could not be shown)")
    .setIntegrationTypes(...ANYWHERE.integrationTypes)
    .setContexts(...ANYWHERE.contexts);
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const body = await pageFor(ctx, interaction.user.id, 0).catch(() => undefined);
  if (!body) return answerPrivately(interaction, MINE_UNAVAILABLE);
  await interaction.reply({ ...replyOf(body), flags: MessageFlags.Ephemeral });
}

/** Whether a button is /weird-mine's (its page turns and "Text" buttons). */
export function ownsButton(customId: string): boolean {
  return customId.startsWith(`${MINE_PAGE}:`) || customId.startsWith(`${MINE_TEXT}:`);
}

export async function handleButton(interaction: ButtonInteraction, ctx: BotContext): Promise<void> {
  const page = new RegExp(`^${MINE_PAGE}:(\\d{1,6})$`).exec(interaction.customId);
  if (page) {
    // The list is whoever clicks: an ephemeral page is only ever in front of its own member.
    const body = await pageFor(ctx, interaction.user.id, Number(page[1])).catch(() => undefined);
    if (!body) return answerPrivately(interaction, MINE_UNAVAILABLE);
    await interaction.update(replyOf(body));
    return;
  }
  const text = new RegExp(`^${MINE_TEXT}:([\\w-]{1,64})$`).exec(interaction.customId);
  if (!text)
    return answerPrivately(interaction, "This button is from an older version of the bot and no longer works.");
  const outputId = text[1]!;
  let found;
  try {
    found = await withRedis(ctx, async () => {
      const output = await ctx.outputs.get(outputId);
      return output && { output, votes: await ctx.outputs.voteCount(outputId) };
    });
  } catch {
    return answerPrivately(interaction, MINE_UNAVAILABLE);
  }
  if (!found) return answerPrivately(interaction, "That output is no longer on record (past the retention).");
  if (found.output.authorId !== interaction.user.id) return answerPrivately(interaction, NOT_YOURS);
  await interaction.reply({ ...replyOf(mineTextMessage(found.output, found.votes)), flags: MessageFlags.Ephemeral });
}

/** The page as it is now; a page past the end (outputs aged out meanwhile) shows the last one. */
async function pageFor(ctx: BotContext, memberId: string, page: number): Promise<MessageBody> {
  const retentionDays = ctx.config.records.retentionDays;
  let mine = await withRedis(ctx, () => ctx.outputs.mine(memberId, page * MINE_PAGE_SIZE, MINE_PAGE_SIZE));
  const last = pageCount(mine.total) - 1;
  if (page > last) {
    page = last;
    mine = await withRedis(ctx, () => ctx.outputs.mine(memberId, page * MINE_PAGE_SIZE, MINE_PAGE_SIZE));
  }
  return minePageMessage({ page, total: mine.total, entries: mine.page, retentionDays });
}

function replyOf(body: MessageBody) {
  return {
    content: body.content,
    components: body.components,
    allowedMentions: body.allowed_mentions,
    ...(body.attachment && {
      files: [{ attachment: Buffer.from(body.attachment.data), name: body.attachment.name }],
    }),
  };
}
