// The community game's reads and its hall of fame: a server's boards (/weirdest,
// /weirdest-members), its stats (/weird-stats), and hall-of-fame claims, which are kept for
// good. Votes and outputs themselves are written by OutputStore; the keys and the scores'
// encoding are in keys.ts, the scripts in communityScripts.ts.
import type { Redis } from "ioredis";
import { CLAIM_HALL, READ_BOARD, READ_STATS, RECLAIM_HALL, RECORD_HALL, RELEASE_HALL } from "./communityScripts.js";
import { memberOfScore, parseRankId, RedisKeys, votesOfScore, type Period, type RankedBy } from "./keys.js";
import type { OutputRecord, OutputStore } from "./outputs.js";
import { runScript } from "./redis.js";

export interface BoardEntry {
  outputId: string;
  authorId: string;
  createdAt: number;
  votes: number;
  /** The record, unless it expired between the ranking and the read. */
  output: OutputRecord | undefined;
}

export interface MemberEntry {
  memberId: string;
  votesReceived: number;
  outputsMade: number;
}

export interface ServerStats {
  outputs: number;
  votes: number;
  players: number;
  coldest: number | undefined;
  hottest: number | undefined;
  mostVoted: BoardEntry | undefined;
  belowZero: number;
  nearZero: number;
  aboveZero: number;
}

export interface HallEntry {
  state: "claimed" | "posted" | "removed";
  nonce: string;
  guildId: string;
  channelId: string;
  messageId?: string;
  claimedAt: number;
}

function pairs(flat: string[]): Array<[string, number]> {
  const result: Array<[string, number]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) result.push([flat[i]!, Number(flat[i + 1])]);
  return result;
}

export class CommunityStore {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly outputs: OutputStore,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  private guildArgs(guildId: string, now: number): Array<string | number> {
    return [this.keys.prefix, guildId, now, ...this.outputs.windows];
  }

  /** The board's top entries, once what aged out of it is trimmed. */
  private async board(guildId: string, key: string, limit: number, now: number): Promise<Array<[string, number]>> {
    const flat = (await runScript(this.redis, READ_BOARD, [key], [...this.guildArgs(guildId, now), limit])) as string[];
    return pairs(flat);
  }

  private async entries(ranked: Array<[string, number]>, by: RankedBy): Promise<BoardEntry[]> {
    const parsed = ranked.map(([rankId, score]) => ({ ...parseRankId(rankId), score }));
    const records = await this.outputs.getMany(parsed.map(entry => entry.outputId));
    return parsed.map(({ score, ...entry }, i) => ({
      ...entry,
      votes: votesOfScore(score, by),
      output: records[i],
    }));
  }

  /** The server's top outputs in a rolling window, optionally one member's or one model's only (not both). */
  async weirdest(
    guildId: string,
    options: { period: Period; by: RankedBy; memberId?: string; modelId?: string; limit?: number; now?: number },
  ): Promise<BoardEntry[]> {
    const { period, by, memberId, modelId } = options;
    if (memberId !== undefined && modelId !== undefined) throw new Error("a board is one member's or one model's");
    const ranked = await this.board(
      guildId,
      modelId === undefined
        ? this.keys.board(guildId, period, by, memberId)
        : this.keys.modelBoard(guildId, modelId, period, by),
      options.limit ?? 10,
      options.now ?? Date.now(),
    );
    return this.entries(ranked, options.by);
  }

  /** Members ranked by votes received on their outputs made in the window (then by outputs made). */
  async members(
    guildId: string,
    period: Period,
    options: { limit?: number; now?: number } = {},
  ): Promise<MemberEntry[]> {
    const key = this.keys.members(guildId, period);
    const ranked = await this.board(guildId, key, options.limit ?? 10, options.now ?? Date.now());
    return ranked.map(([memberId, score]) => ({ memberId, ...memberOfScore(score) }));
  }

  /** The ids of the models this server's outputs on record were made with (each has its own boards). */
  async models(guildId: string): Promise<string[]> {
    return this.redis.smembers(this.keys.guildModels(guildId));
  }

  /** Stats over everything this server still has on record (the retention), or over one model's outputs. */
  async stats(guildId: string, now = Date.now(), modelId?: string): Promise<ServerStats> {
    const [outputs, votes, players, coldest, hottest, top, below, near, above] = (await runScript(
      this.redis,
      READ_STATS,
      // A key of the server's, so Redis Cluster sends the script to the node of the prefix's slot.
      [this.keys.made(guildId)],
      [...this.guildArgs(guildId, now), modelId ?? ""],
    )) as [number, number, number, string[], string[], string[], number, number, number];
    const [mostVoted] = await this.entries(pairs(top), "votes");
    return {
      outputs,
      votes,
      players,
      coldest: coldest[1] === undefined ? undefined : Number(coldest[1]),
      hottest: hottest[1] === undefined ? undefined : Number(hottest[1]),
      mostVoted: mostVoted && mostVoted.votes > 0 ? mostVoted : undefined,
      belowZero: below,
      nearZero: near,
      aboveZero: above,
    };
  }

  // Hall of fame. An entry is claimed before anything is posted, and posted with the
  // claim's nonce, so two processes never both post, and a post whose recording was lost
  // (a crash in between) is repeated with the same nonce, which Discord deduplicates.

  async hallEntry(outputId: string): Promise<HallEntry | undefined> {
    const raw = await this.redis.hgetall(this.keys.hall(outputId));
    if (!raw.state) return undefined;
    return {
      state: raw.state as HallEntry["state"],
      nonce: raw.nonce ?? "",
      guildId: raw.guildId ?? "",
      channelId: raw.channelId ?? "",
      claimedAt: Number(raw.claimedAt),
      ...(raw.messageId && { messageId: raw.messageId }),
    };
  }

  /** True if this caller won the claim (and must post); false if it was claimed before or lacks votes. */
  async claimHall(
    output: Pick<OutputRecord, "id" | "guildId">,
    claim: { threshold: number; channelId: string; nonce: string; now?: number },
  ): Promise<boolean> {
    const result = await runScript(
      this.redis,
      CLAIM_HALL,
      [this.keys.hall(output.id), this.keys.votes(output.id), this.keys.hallPending],
      [claim.threshold, claim.now ?? Date.now(), claim.nonce, output.guildId ?? "", claim.channelId, output.id],
    );
    return result === 1;
  }

  /** Claims whose post was not recorded within the lease: their process probably died. */
  async staleHallClaims(leaseMs: number, now = Date.now()): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.hallPending, "-inf", now - leaseMs);
  }

  /** Takes over a stale claim; true if the caller should post it again (same nonce). */
  async reclaimHall(outputId: string, leaseMs: number, now = Date.now()): Promise<boolean> {
    return (await runScript(this.redis, RECLAIM_HALL, [this.keys.hall(outputId)], [now, leaseMs])) === 1;
  }

  async recordHallPost(outputId: string, messageId: string): Promise<void> {
    await runScript(this.redis, RECORD_HALL, [this.keys.hall(outputId), this.keys.hallPending], [messageId, outputId]);
  }

  async releaseHall(outputId: string): Promise<void> {
    await runScript(this.redis, RELEASE_HALL, [this.keys.hall(outputId), this.keys.hallPending], [outputId]);
  }

  /** The post is gone (taken down below the removal threshold, or deleted): never posted again. */
  async markHallRemoved(outputId: string): Promise<void> {
    await this.redis.hset(this.keys.hall(outputId), "state", "removed");
  }

  /** Why the server's hall of fame could not be posted to last time, if it could not (for /weird-config show). */
  async hallOfFameProblem(guildId: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.hallProblem(guildId))) ?? undefined;
  }

  async setHallOfFameProblem(guildId: string, problem: string | undefined): Promise<void> {
    if (problem === undefined) await this.redis.del(this.keys.hallProblem(guildId));
    else await this.redis.set(this.keys.hallProblem(guildId), problem);
  }
}
