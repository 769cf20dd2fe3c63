// The Weird! button (what a click decides is src/game/votes.ts). The click's own answer
// shows the count read at click time; concurrent answers land in any order, so when
// clicks overlap, a follow-up edit (one in flight per message, re-reading the count) ends
// the burst on the exact count. Then the hall of fame is brought up to date, never holding
// up the vote.
import { MessageFlags, type ButtonInteraction } from "discord.js";
import { hasVoteButton, resultBody, withVoteCounts } from "../discord/cards.js";
import { NO_MENTIONS, resultButtons, sweepButtons, type MessageBody } from "../discord/format.js";
import { comparisonButtons } from "../discord/compareMessages.js";
import { partOfOutput } from "../store/comparisons.js";
import type { OutputRecord } from "../store/outputs.js";
import { comparisonComponents, showComparison } from "../worker/comparison.js";
import { BOTS_CANNOT_VOTE, castVote } from "../game/votes.js";
import { answerPrivately, type BotContext } from "./context.js";
import { updateHallOfFame } from "./hallOfFame.js";

export async function handleVote(interaction: ButtonInteraction, ctx: BotContext, output: OutputRecord): Promise<void> {
  if (interaction.user.bot) return answerPrivately(interaction, BOTS_CANNOT_VOTE);
  const labelKey = `label:${interaction.message.id}`;
  const end = ctx.refreshes.begin(labelKey);
  let updated = false;
  try {
    updated = await vote(interaction, ctx, output);
  } finally {
    // Overlapping clicks' updates land in any order: one follow-up edit re-reads the count.
    // It goes through a token whose response updated the message (a refusal's would edit the refusal).
    if (end() && updated) {
      ctx.refreshes.schedule(labelKey, async () => {
        const count = await ctx.outputs.voteCount(output.id);
        await showVoted(interaction, ctx, output, count, message =>
          interaction.editReply({ ...message, allowedMentions: NO_MENTIONS }),
        );
      });
    }
  }
}

async function vote(interaction: ButtonInteraction, ctx: BotContext, output: OutputRecord): Promise<boolean> {
  const click = { id: interaction.id, userId: interaction.user.id, guildId: interaction.guildId };
  const decision = await castVote(ctx, output, click);
  if (!decision.counted) {
    await answerPrivately(interaction, decision.answer);
    return false;
  }
  await showVoted(interaction, ctx, output, decision.count, message =>
    interaction.update({ ...message, allowedMentions: NO_MENTIONS }),
  );
  const rest = interaction.client.rest;
  ctx.refreshes.schedule(`hall:${output.id}`, () => updateHallOfFame(ctx, rest, output.id));
  return true;
}

/** What a vote edits: the message's components, a card's flag, a cut card's full text again. */
type VotedMessage = {
  components: MessageBody["components"];
  flags?: MessageFlags.IsComponentsV2;
  files?: Array<{ attachment: Buffer; name: string }>;
};

/**
 * Edits the message with the vote's count (see votedMessage). A comparison's come from its saved state (done parts only), and
 * a part that changed while they were on their way is shown again in full, as workers do: a
 * part finishing during the vote must not lose its button to the vote's older view.
 */
async function showVoted(
  interaction: ButtonInteraction,
  ctx: BotContext,
  output: OutputRecord,
  count: number,
  edit: (message: VotedMessage) => Promise<unknown>,
): Promise<void> {
  const part = output.compareRows && partOfOutput(output.id);
  const comparison = part ? await ctx.comparisons.get(part.id) : undefined;
  if (!comparison) {
    await edit(await votedMessage(ctx, interaction, output, count));
    return;
  }
  await edit({ components: await comparisonComponents(ctx.outputs, comparison) });
  if (comparison.messageId === undefined || (await ctx.comparisons.version(comparison.id)) === comparison.version)
    return;
  // Through this click's token, which edits the message the button is on (no channel access needed).
  const deps = { comparisons: ctx.comparisons, outputs: ctx.outputs, rest: interaction.client.rest };
  const to = {
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    interactionAt: interaction.createdTimestamp,
    channelId: interaction.channelId,
  };
  await showComparison(deps, comparison.id, to).catch((error: Error) =>
    ctx.log(`comparison not shown again after a vote: ${error.message}`, { guildId: interaction.guildId }),
  );
}

/**
 * The message as it is with this count on its vote buttons: a card stays the card it is (its
 * layout is the message's own). A message without this output's vote button (made before
 * results kept it there) gets the buttons a result has.
 */
async function votedMessage(
  ctx: BotContext,
  interaction: ButtonInteraction,
  output: OutputRecord,
  count: number,
): Promise<VotedMessage> {
  const current = interaction.message.components.map(component => component.toJSON());
  if (!hasVoteButton(current, output.id)) return { components: await buttonsFor(ctx, output, count) };
  // A result's card is drawn again from its record, its full text attached again when cut:
  // Discord gives the card's file back as a CDN url, which it refuses in a file component.
  if (interaction.message.flags.has(MessageFlags.IsComponentsV2) && !output.sweepRows) {
    const { components, attachment } = resultBody(output, "cards", count);
    return {
      components,
      flags: MessageFlags.IsComponentsV2 as const,
      ...(attachment && { files: [{ attachment: Buffer.from(attachment.data), name: attachment.name }] }),
    };
  }
  const ids = output.sweepRows ?? [output.id];
  const counts = await Promise.all(
    ids.map(id => (id === output.id ? Promise.resolve(count) : ctx.outputs.voteCount(id))),
  );
  const card = interaction.message.flags.has(MessageFlags.IsComponentsV2);
  return {
    components: withVoteCounts(current, new Map(ids.map((id, i) => [id, counts[i]!]))),
    ...(card && { flags: MessageFlags.IsComponentsV2 as const }),
  };
}

/** The message's buttons with this count: a result's three, or a sweep's or comparison's vote button per row. */
async function buttonsFor(ctx: BotContext, output: OutputRecord, count: number) {
  if (output.compareRows) return comparisonButtonsFor(ctx, output, count);
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

/** An expired comparison's buttons: one per part that has an output (a part that never ran has none). */
async function comparisonButtonsFor(ctx: BotContext, output: OutputRecord, count: number) {
  const ids = output.compareRows!;
  const records = await ctx.outputs.getMany(ids);
  const parts = records.flatMap(record => (record ? [record] : []));
  const counts = await Promise.all(
    parts.map(record => (record.id === output.id ? Promise.resolve(count) : ctx.outputs.voteCount(record.id))),
  );
  return comparisonButtons(
    parts.map((record, i) => ({
      outputId: record.id,
      label: record.modelId ?? record.model,
      temperature: record.temperature,
      votes: counts[i]!,
    })),
  );
}
