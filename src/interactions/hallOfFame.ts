// The hall of fame: an output that reaches its server's threshold is posted to the hall
// channel exactly once. The claim is taken in Redis before anything is posted (so two bot
// processes never both post), and the post carries a nonce derived from the output with
// enforce_nonce (so repeating a post whose recording was lost in a crash returns the first
// message instead of a second one). The post's count then follows the original's.
import { createHash } from "node:crypto";
// discord.js's own REST classes: the bot posts through its client's REST, which comes from the
// CommonJS build of @discordjs/rest; the ESM build's DiscordAPIError (an import of
// "@discordjs/rest" here) is another class, and instanceof would never match.
import { DiscordAPIError, RESTJSONErrorCodes, Routes, type APIMessage, type REST } from "discord.js";
import { hallOfFameMessage } from "../discord/communityMessages.js";
import type { HallEntry } from "../store/community.js";
import type { OutputRecord } from "../store/outputs.js";
import type { BotContext } from "./context.js";

/** A claim whose post is not recorded within this time is taken over (its process died). */
export const HALL_CLAIM_LEASE_MS = 30_000;

/** Discord nonces are at most 25 characters; the same output always gets the same one. */
export function hallNonce(outputId: string): string {
  return `hof${createHash("sha256").update(outputId).digest("base64url").slice(0, 22)}`;
}

type Ctx = Pick<BotContext, "outputs" | "community" | "settings" | "log">;

const isDiscordError = (error: unknown, code: RESTJSONErrorCodes) =>
  error instanceof DiscordAPIError && error.code === Number(code);

/** A 4xx other than rate limiting: posting again will not help until an admin changes something. */
function isRefusal(error: unknown): error is DiscordAPIError {
  return error instanceof DiscordAPIError && error.status >= 400 && error.status < 500 && error.status !== 429;
}

function problemOf(error: DiscordAPIError, channelId: string): string {
  if (isDiscordError(error, RESTJSONErrorCodes.UnknownChannel))
    return `the hall-of-fame channel <#${channelId}> does not exist (any more)`;
  if (
    isDiscordError(error, RESTJSONErrorCodes.MissingAccess) ||
    isDiscordError(error, RESTJSONErrorCodes.MissingPermissions)
  )
    return `the bot cannot post in <#${channelId}>: it needs View Channel and Send Messages there`;
  return `posting to <#${channelId}> failed: ${error.status} ${error.message}`;
}

/** Brings an output's hall-of-fame state up to date: post it, follow its count, or take it down. */
export async function updateHallOfFame(
  ctx: Ctx,
  rest: REST,
  outputId: string,
  leaseMs = HALL_CLAIM_LEASE_MS,
): Promise<void> {
  const [output, entry] = await Promise.all([ctx.outputs.get(outputId), ctx.community.hallEntry(outputId)]);
  if (!output?.guildId || entry?.state === "removed") return; // an expired original leaves its hall post as it is
  if (entry?.state === "posted") return followOriginal(ctx, rest, output, entry);
  if (entry?.state === "claimed") {
    if (await ctx.community.reclaimHall(outputId, leaseMs)) await post(ctx, rest, output, entry.channelId, entry.nonce);
    return;
  }
  const { hallOfFame } = await ctx.settings.forServer(output.guildId);
  if (hallOfFame.threshold <= 0 || !hallOfFame.channelId) return;
  const nonce = hallNonce(outputId);
  const claim = { threshold: hallOfFame.threshold, channelId: hallOfFame.channelId, nonce };
  if (await ctx.community.claimHall(output, claim)) await post(ctx, rest, output, hallOfFame.channelId, nonce);
}

async function post(ctx: Ctx, rest: REST, output: OutputRecord, channelId: string, nonce: string): Promise<void> {
  const guildId = output.guildId!;
  const votes = await ctx.outputs.voteCount(output.id);
  let message: APIMessage;
  try {
    message = (await rest.post(Routes.channelMessages(channelId), {
      body: { ...hallOfFameMessage(output, votes), nonce, enforce_nonce: true },
    })) as APIMessage;
  } catch (error) {
    if (!isRefusal(error)) throw error; // transient: the claim stays and is taken over after the lease
    // Give the claim back, so a later vote posts it once an admin has fixed the channel.
    await ctx.community.releaseHall(output.id);
    const problem = problemOf(error, channelId);
    await ctx.community.setHallOfFameProblem(guildId, problem);
    ctx.log(`hall of fame in server ${guildId}: ${problem}`);
    return;
  }
  await ctx.community.recordHallPost(output.id, message.id);
  await ctx.community.setHallOfFameProblem(guildId, undefined);
  // Votes that came while it was being posted found it claimed, not posted: catch up with them.
  if ((await ctx.outputs.voteCount(output.id)) !== votes)
    await followOriginal(ctx, rest, output, { channelId, messageId: message.id });
}

async function followOriginal(
  ctx: Ctx,
  rest: REST,
  output: OutputRecord,
  entry: Pick<HallEntry, "channelId" | "messageId">,
): Promise<void> {
  const route = Routes.channelMessage(entry.channelId, entry.messageId!);
  const [votes, settings] = await Promise.all([
    ctx.outputs.voteCount(output.id),
    ctx.settings.forServer(output.guildId!),
  ]);
  const { removeBelow } = settings.hallOfFame;
  try {
    if (removeBelow !== null && votes < removeBelow) {
      await rest.delete(route);
      return ctx.community.markHallRemoved(output.id);
    }
    const { content, allowed_mentions } = hallOfFameMessage(output, votes);
    await rest.patch(route, { body: { content, allowed_mentions } });
  } catch (error) {
    // Deleted by a moderator: it stays gone.
    if (isDiscordError(error, RESTJSONErrorCodes.UnknownMessage)) return ctx.community.markHallRemoved(output.id);
    if (!isRefusal(error)) throw error;
    const problem = problemOf(error, entry.channelId);
    await ctx.community.setHallOfFameProblem(output.guildId!, problem);
    ctx.log(`hall of fame in server ${output.guildId}: ${problem}`);
  }
}

/** Finishes claims whose process died between posting and recording (run at startup, and after a lease). */
export async function recoverHallOfFame(ctx: Ctx, rest: REST, leaseMs = HALL_CLAIM_LEASE_MS): Promise<void> {
  for (const outputId of await ctx.community.staleHallClaims(leaseMs)) {
    await updateHallOfFame(ctx, rest, outputId, leaseMs).catch((error: Error) =>
      ctx.log(`hall of fame: could not finish the post of ${outputId}: ${error.message}`),
    );
  }
}
