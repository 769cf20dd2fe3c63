// The community game's reads and its hall of fame: a server's boards (/weirdest,
// /weirdest-members), its stats (/weird-stats), and hall-of-fame claims, which are kept for
// good. Votes and outputs themselves are written by OutputStore; the Redis schema is
// described in communityScripts.ts.
import type { Redis } from "ioredis";
import { CLAIM_HALL, READ_BOARD, READ_STATS, RECLAIM_HALL, RECORD_HALL, RELEASE_HALL } from "./communityScripts.js";
import { outputIdOfRank, runScript, type OutputRecord, type OutputStore, type Period } from "./outputs.js";

export type RankedBy = "votes" | "weirdness";

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

const VOTE_UNIT = 2 ** 32;
const WEIRD_UNIT = 2 ** 21;
const MADE_UNIT = 2 ** 20;

function parseRankId(rankId: string): { createdAt: number; authorId: string; outputId: string } {
  const [createdAt, authorId] = rankId.split(":");
  return { createdAt: Number(createdAt), authorId: authorId ?? "", outputId: outputIdOfRank(rankId) };
}

function pairs(flat: string[]): Array<[string, number]> {
  const result: Array<[string, number]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) result.push([flat[i]!, Number(flat[i + 1])]);
  return result;
}

export class CommunityStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly outputs: OutputStore,
  ) {}

  private guildArgs(guildId: string, now: number): Array<string | number> {
    return [this.prefix, guildId, now, ...this.outputs.windows];
  }

  /**
   * A key of the server's, named so Redis Cluster sends the script to the node holding the
   * prefix's hash slot (with no key it goes to any node; every key the script builds is in that slot).
   */
  private routingKey(guildId: string): string {
    return `${this.prefix}:guild:${guildId}:made`;
  }

  private async board(guildId: string, suffix: string, limit: number, now: number): Promise<Array<[string, number]>> {
    const flat = (await runScript(
      this.redis,
      READ_BOARD,
      [this.routingKey(guildId)],
      [...this.guildArgs(guildId, now), suffix, limit],
    )) as string[];
    return pairs(flat);
  }

  private async entries(ranked: Array<[string, number]>, by: RankedBy): Promise<BoardEntry[]> {
    const parsed = ranked.map(([rankId, score]) => ({ ...parseRankId(rankId), score }));
    const records = await this.outputs.getMany(parsed.map(entry => entry.outputId));
    return parsed.map(({ score, ...entry }, i) => ({
      ...entry,
      votes: by === "votes" ? Math.floor(score / VOTE_UNIT) : score % WEIRD_UNIT,
      output: records[i],
    }));
  }

  /** The server's top outputs in a rolling window, optionally one member's only. */
  async weirdest(
    guildId: string,
    options: { period: Period; by: RankedBy; memberId?: string; limit?: number; now?: number },
  ): Promise<BoardEntry[]> {
    const scope = options.memberId ? `member:${options.memberId}:` : "";
    const ranked = await this.board(
      guildId,
      `${scope}top:${options.period}:${options.by}`,
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
    const ranked = await this.board(guildId, `members:${period}`, options.limit ?? 10, options.now ?? Date.now());
    return ranked.map(([memberId, score]) => ({
      memberId,
      votesReceived: Math.floor(score / MADE_UNIT),
      outputsMade: score % MADE_UNIT,
    }));
  }

  /** Stats over everything this server still has on record (the retention). */
  async stats(guildId: string, now = Date.now()): Promise<ServerStats> {
    const [outputs, votes, players, coldest, hottest, top, below, near, above] = (await runScript(
      this.redis,
      READ_STATS,
      [this.routingKey(guildId)],
      this.guildArgs(guildId, now),
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

  private hallKey(outputId: string): string {
    return `${this.prefix}:hall:${outputId}`;
  }
  private get pendingKey(): string {
    return `${this.prefix}:hall-pending`;
  }

  async hallEntry(outputId: string): Promise<HallEntry | undefined> {
    const raw = await this.redis.hgetall(this.hallKey(outputId));
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
      [this.hallKey(output.id), `${this.prefix}:votes:${output.id}`, this.pendingKey],
      [claim.threshold, claim.now ?? Date.now(), claim.nonce, output.guildId ?? "", claim.channelId, output.id],
    );
    return result === 1;
  }

  /** Claims whose post was not recorded within the lease: their process probably died. */
  async staleHallClaims(leaseMs: number, now = Date.now()): Promise<string[]> {
    return this.redis.zrangebyscore(this.pendingKey, "-inf", now - leaseMs);
  }

  /** Takes over a stale claim; true if the caller should post it again (same nonce). */
  async reclaimHall(outputId: string, leaseMs: number, now = Date.now()): Promise<boolean> {
    return (await runScript(this.redis, RECLAIM_HALL, [this.hallKey(outputId)], [now, leaseMs])) === 1;
  }

  async recordHallPost(outputId: string, messageId: string): Promise<void> {
    await runScript(this.redis, RECORD_HALL, [this.hallKey(outputId), this.pendingKey], [messageId, outputId]);
  }

  async releaseHall(outputId: string): Promise<void> {
    await runScript(this.redis, RELEASE_HALL, [this.hallKey(outputId), this.pendingKey], [outputId]);
  }

  /** The post is gone (taken down below the removal threshold, or deleted): never posted again. */
  async markHallRemoved(outputId: string): Promise<void> {
    await this.redis.hset(this.hallKey(outputId), "state", "removed");
  }

  private problemKey(guildId: string): string {
    return `${this.prefix}:hall-problem:${guildId}`;
  }

  /** Why the server's hall of fame could not be posted to last time, if it could not (for /weird-config show). */
  async hallOfFameProblem(guildId: string): Promise<string | undefined> {
    return (await this.redis.get(this.problemKey(guildId))) ?? undefined;
  }

  async setHallOfFameProblem(guildId: string, problem: string | undefined): Promise<void> {
    if (problem === undefined) await this.redis.del(this.problemKey(guildId));
    else await this.redis.set(this.problemKey(guildId), problem);
  }
}
