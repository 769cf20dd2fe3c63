// The hall of fame: an output that reaches its server's threshold is posted to the hall
// channel exactly once. The claim is taken in Redis before anything is posted (so two bot
// processes never both post), and the post carries a nonce derived from the output, which
// the channel enforces (so repeating a post whose recording was lost in a crash returns the
// first message instead of a second one). The post's count then follows the original's.
// What decides and what is stored is here; posting through Discord is a HallChannel
// (src/interactions/hallOfFame.ts).
import { createHash } from "node:crypto";
import type { HallEntry } from "../store/community.js";
import type { OutputRecord } from "../store/outputs.js";
import type { GameContext } from "./context.js";

/** A claim whose post is not recorded within this time is taken over (its process died). */
export const HALL_CLAIM_LEASE_MS = 30_000;

/** Discord nonces are at most 25 characters; the same output always gets the same one. */
export function hallNonce(outputId: string): string {
  return `hof${createHash("sha256").update(outputId).digest("base64url").slice(0, 22)}`;
}

/** Posting again will not help until an admin changes something; `problem` says what, for /weird-config. */
export class HallRefused extends Error {
  constructor(readonly problem: string) {
    super(problem);
  }
}

/** The hall post is gone (deleted by a moderator): it stays gone. */
export class HallPostGone extends Error {}

/**
 * Where hall posts go. Each method throws HallRefused or HallPostGone for what retrying will
 * not fix, and anything else for what may pass (the claim stays and is taken over later).
 */
export interface HallChannel {
  /** Posts the output with its count; returns the message's id. */
  post(channelId: string, output: OutputRecord, votes: number, nonce: string): Promise<string>;
  edit(channelId: string, messageId: string, output: OutputRecord, votes: number): Promise<void>;
  remove(channelId: string, messageId: string): Promise<void>;
}

type Ctx = Pick<GameContext, "outputs" | "community" | "settings" | "log">;

/** Brings an output's hall-of-fame state up to date: post it, follow its count, or take it down. */
export async function updateHallOfFame(
  ctx: Ctx,
  hall: HallChannel,
  outputId: string,
  leaseMs = HALL_CLAIM_LEASE_MS,
): Promise<void> {
  const [output, entry] = await Promise.all([ctx.outputs.get(outputId), ctx.community.hallEntry(outputId)]);
  if (!output?.guildId || entry?.state === "removed") return; // an expired original leaves its hall post as it is
  if (entry?.state === "posted") return followOriginal(ctx, hall, output, entry);
  if (entry?.state === "claimed") {
    if (await ctx.community.reclaimHall(outputId, leaseMs)) await post(ctx, hall, output, entry.channelId, entry.nonce);
    return;
  }
  const { hallOfFame } = await ctx.settings.forServer(output.guildId);
  if (hallOfFame.threshold <= 0 || !hallOfFame.channelId) return;
  const nonce = hallNonce(outputId);
  const claim = { threshold: hallOfFame.threshold, channelId: hallOfFame.channelId, nonce };
  if (await ctx.community.claimHall(output, claim)) await post(ctx, hall, output, hallOfFame.channelId, nonce);
}

async function post(
  ctx: Ctx,
  hall: HallChannel,
  output: OutputRecord,
  channelId: string,
  nonce: string,
): Promise<void> {
  const guildId = output.guildId!;
  const votes = await ctx.outputs.voteCount(output.id);
  let messageId: string;
  try {
    messageId = await hall.post(channelId, output, votes, nonce);
  } catch (error) {
    if (!(error instanceof HallRefused)) throw error; // transient: the claim stays and is taken over after the lease
    // Give the claim back, so a later vote posts it once an admin has fixed the channel.
    await ctx.community.releaseHall(output.id);
    await reportProblem(ctx, guildId, error.problem);
    return;
  }
  await ctx.community.recordHallPost(output.id, messageId);
  await ctx.community.setHallOfFameProblem(guildId, undefined);
  // Votes that came while it was being posted found it claimed, not posted: catch up with them.
  if ((await ctx.outputs.voteCount(output.id)) !== votes)
    await followOriginal(ctx, hall, output, { channelId, messageId });
}

async function followOriginal(
  ctx: Ctx,
  hall: HallChannel,
  output: OutputRecord,
  entry: Pick<HallEntry, "channelId" | "messageId">,
): Promise<void> {
  const [votes, settings] = await Promise.all([
    ctx.outputs.voteCount(output.id),
    ctx.settings.forServer(output.guildId!),
  ]);
  const { removeBelow } = settings.hallOfFame;
  try {
    if (removeBelow !== null && votes < removeBelow) {
      await hall.remove(entry.channelId, entry.messageId!);
      return ctx.community.markHallRemoved(output.id);
    }
    await hall.edit(entry.channelId, entry.messageId!, output, votes);
  } catch (error) {
    if (error instanceof HallPostGone) return ctx.community.markHallRemoved(output.id);
    if (!(error instanceof HallRefused)) throw error;
    await reportProblem(ctx, output.guildId!, error.problem);
  }
}

async function reportProblem(ctx: Ctx, guildId: string, problem: string): Promise<void> {
  await ctx.community.setHallOfFameProblem(guildId, problem);
  ctx.log(`hall of fame in server ${guildId}: ${problem}`);
}

/** Finishes claims whose process died between posting and recording (run at startup, and after a lease). */
export async function recoverHallOfFame(ctx: Ctx, hall: HallChannel, leaseMs = HALL_CLAIM_LEASE_MS): Promise<void> {
  for (const outputId of await ctx.community.staleHallClaims(leaseMs)) {
    await updateHallOfFame(ctx, hall, outputId, leaseMs).catch((error: Error) =>
      ctx.log(`hall of fame: could not finish the post of ${outputId}: ${error.message}`),
    );
  }
}
