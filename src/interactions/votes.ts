// The Weird! button: a vote is (output, member), toggled in one atomic step. The click's own
// answer shows the count read at click time; concurrent answers land in any order, so when
// clicks overlap, a follow-up edit (one in flight per message, re-reading the count) ends
// the burst on the exact count. Then the hall of fame is brought up to date, never holding
// up the vote.
import type { ButtonInteraction } from "discord.js";
import { NO_MENTIONS, resultButtons, sweepButtons } from "../discord/format.js";
import type { OutputRecord } from "../store/outputs.js";
import { answerPrivately, settingsFor, withRedis, type BotContext } from "./context.js";
import { updateHallOfFame } from "./hallOfFame.js";
import { CLICK_MEMORY_MS } from "../store/communityScripts.js";

export const NO_LONGER_ON_RECORD = "That output is no longer on record.";
export const VOTES_UNAVAILABLE = "Votes are unavailable right now (cannot reach Redis). Please try again in a minute.";

export async function handleVote(interaction: ButtonInteraction, ctx: BotContext, output: OutputRecord): Promise<void> {
  if (interaction.user.bot) return answerPrivately(interaction, "Bots can't vote.");
  const guildId = interaction.guildId;
  const labelKey = `label:${interaction.message.id}`;
  const end = ctx.refreshes.begin(labelKey);
  let updated = false;
  try {
    updated = await vote(interaction, ctx, output, guildId);
  } finally {
    // Overlapping clicks' updates land in any order: one follow-up edit re-reads the count.
    // It goes through a token whose response updated the message (a refusal's would edit the refusal).
    if (end() && updated) {
      ctx.refreshes.schedule(labelKey, async () => {
        const count = await ctx.outputs.voteCount(output.id);
        await interaction.editReply({
          components: await buttonsFor(ctx, output, count),
          allowedMentions: NO_MENTIONS,
        });
      });
    }
  }
}

/**
 * Per bot process: the last click of a member on an output that was sent to Redis and got no
 * answer. It may still have run, but the member was told it did not; their next click says
 * which click it retries, and counts only if that one never ran. (A guild's clicks reach
 * one shard, so one process sees the retry.)
 */
const unansweredClicks = new WeakMap<BotContext, Map<string, { click: string; at: number }>>();

function unansweredOf(ctx: BotContext): Map<string, { click: string; at: number }> {
  let clicks = unansweredClicks.get(ctx);
  if (!clicks) unansweredClicks.set(ctx, (clicks = new Map<string, { click: string; at: number }>()));
  return clicks;
}

async function vote(
  interaction: ButtonInteraction,
  ctx: BotContext,
  output: OutputRecord,
  guildId: string | null,
): Promise<boolean> {
  const member = `${output.id}:${interaction.user.id}`;
  const unanswered = unansweredOf(ctx);
  const now = Date.now();
  for (const [key, { at }] of unanswered) if (now - at > CLICK_MEMORY_MS) unanswered.delete(key);
  let result;
  try {
    // Outside a server (a direct message) only the author is there to vote.
    const selfVotes = guildId ? (await settingsFor(ctx, guildId)).selfVotes : true;
    const options = { selfVotes, click: interaction.id, retryOf: unanswered.get(member)?.click };
    const sent = ctx.redisReady(); // withRedis sends nothing while the connection is down
    try {
      result = await withRedis(ctx, () => ctx.outputs.toggleVote(output.id, interaction.user.id, options));
    } catch (error) {
      if (sent) unanswered.set(member, { click: interaction.id, at: now }); // it may have run
      throw error;
    }
  } catch {
    await answerPrivately(interaction, VOTES_UNAVAILABLE);
    return false;
  }
  unanswered.delete(member);
  if (result.outcome === "expired") {
    await answerPrivately(interaction, NO_LONGER_ON_RECORD);
    return false;
  }
  if (result.outcome === "refused-self") {
    await answerPrivately(interaction, "In this server you can't vote for your own outputs.");
    return false;
  }

  await interaction.update({
    components: await buttonsFor(ctx, output, result.count),
    allowedMentions: NO_MENTIONS,
  });
  const rest = interaction.client.rest;
  ctx.refreshes.schedule(`hall:${output.id}`, () => updateHallOfFame(ctx, rest, output.id));
  return true;
}

/** The message's buttons with this count: a result's three, or a sweep's vote button per row. */
async function buttonsFor(ctx: BotContext, output: OutputRecord, count: number) {
  if (!output.sweepRows) return [resultButtons(output.id, count, output.temperature, output.schedule)];
  const ids = output.sweepRows;
  const [records, counts] = await Promise.all([
    ctx.outputs.getMany(ids),
    Promise.all(ids.map(id => (id === output.id ? Promise.resolve(count) : ctx.outputs.voteCount(id)))),
  ]);
  return sweepButtons(
    ids.map((id, i) => ({ outputId: id, temperature: records[i]?.temperature ?? Number.NaN, votes: counts[i]! })),
  );
}
