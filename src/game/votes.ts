// A vote is (output, member), toggled in one atomic step in Redis. This decides what a click
// does and what the member is told; the button and its label are src/interactions/votes.ts.
import { CLICK_MEMORY_MS } from "../store/communityScripts.js";
import type { OutputRecord } from "../store/outputs.js";
import { withRedis } from "../store/redis.js";
import { settingsFor, type GameContext } from "./context.js";

export const NO_LONGER_ON_RECORD = "That output is no longer on record.";
export const VOTES_UNAVAILABLE = "Votes are unavailable right now (cannot reach Redis). Please try again in a minute.";
export const BOTS_CANNOT_VOTE = "Bots can't vote.";
export const NO_SELF_VOTES = "In this server you can't vote for your own outputs.";

/**
 * Per bot process (owned by its context): the last click of a member on an output that was
 * sent to Redis and got no answer. It may still have run, but the member was told it did
 * not; their next click says which click it retries, and counts only if that one never ran.
 * (A guild's clicks reach one shard, so one process sees the retry.)
 */
export class UnansweredClicks {
  readonly #clicks = new Map<string, { click: string; at: number }>();

  /** The unanswered click this member's click on this output retries, if any. */
  retried(member: string, now: number): string | undefined {
    for (const [key, { at }] of this.#clicks) if (now - at > CLICK_MEMORY_MS) this.#clicks.delete(key);
    return this.#clicks.get(member)?.click;
  }

  remember(member: string, click: string, at: number): void {
    this.#clicks.set(member, { click, at });
  }

  forget(member: string): void {
    this.#clicks.delete(member);
  }
}

/** What a click did: the new count, or what to tell the member privately. */
export type VoteDecision = { counted: true; count: number } | { counted: false; answer: string };

/** Toggles the member's vote on the output; a DM has no server settings, so only the author is there to vote. */
export async function castVote(
  ctx: Pick<GameContext, "outputs" | "settings" | "redisReady" | "unansweredClicks">,
  output: OutputRecord,
  click: { id: string; userId: string; guildId: string | null },
): Promise<VoteDecision> {
  const member = `${output.id}:${click.userId}`;
  const unanswered = ctx.unansweredClicks;
  const now = Date.now();
  const retryOf = unanswered.retried(member, now);
  let result;
  try {
    const selfVotes = click.guildId ? (await settingsFor(ctx, click.guildId)).selfVotes : true;
    const options = { selfVotes, click: click.id, retryOf };
    const sent = ctx.redisReady(); // withRedis sends nothing while the connection is down
    try {
      result = await withRedis(ctx, () => ctx.outputs.toggleVote(output.id, click.userId, options));
    } catch (error) {
      if (sent) unanswered.remember(member, click.id, now); // it may have run
      throw error;
    }
  } catch {
    return { counted: false, answer: VOTES_UNAVAILABLE };
  }
  unanswered.forget(member);
  if (result.outcome === "expired") return { counted: false, answer: NO_LONGER_ON_RECORD };
  if (result.outcome === "refused-self") return { counted: false, answer: NO_SELF_VOTES };
  return { counted: true, count: result.count };
}
