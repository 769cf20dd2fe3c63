// Records that must survive restarts: each output, and its votes as a set of members (a vote
// is (output, member), so a repeated click is a no-op, not a second vote). Both expire after
// the retention; saving and voting also keep the server's boards (src/store/community.ts).
// Keys and their encoding: keys.ts.
import type { Redis } from "ioredis";
import type { Schedule } from "../engine/schedule.js";
import type { Vocabulary } from "../engine/vocabulary.js";
import { SAVE_OUTPUT, TOGGLE_VOTE } from "./communityScripts.js";
import { RedisKeys } from "./keys.js";
import { runScript } from "./redis.js";

export interface OutputRecord {
  id: string;
  guildId: string | null;
  channelId: string;
  /** Empty until the result has been delivered. */
  messageId: string;
  authorId: string;
  prompt: string;
  temperature: number;
  maxTokens: number;
  seed: number;
  /** The model's file name, as the engine names it. */
  model: string;
  /** The model's id in the registry (MODEL_ID, else the GGUF's name); absent on older outputs. */
  modelId?: string;
  text: string;
  createdAt: number;
  /** Weirdness: the mean surprisal of the output's tokens at T = 1, nats per token (when the engine gave one). */
  surprisal?: number;
  /**
   * Each generated token's own text and surprisal at T = 1 (nats, 3 decimals), for the "Why
   * weird?" chart. Absent on outputs made before it was kept.
   */
  tokenTexts?: string[];
  tokenSurprisals?: number[];
  /** A temperature per token, when the output had one (temperature is then its first). */
  schedule?: Schedule;
  /** The script its tokens were limited to, when not "any". */
  vocab?: Vocabulary;
  /** The message it continues (a message command's link), kept by reroll and flip. */
  source?: string;
  /** For a sweep's rows: every row's output id, in the order of the message's buttons. */
  sweepRows?: string[];
  /** For a comparison's parts: every part's output id, in the order of the message's buttons. */
  compareRows?: string[];
  /** Its token count and why it stopped, so its message can be rebuilt as shown; absent on older outputs. */
  tokenCount?: number;
  stopReason?: string;
}

export const DAY_MS = 24 * 3600 * 1000;

/** Rolling windows of the periods (keys.ts), shortest first; "all" is the retention, and none is longer than it. */
export function windowsFor(retentionMs: number): number[] {
  return [DAY_MS, 7 * DAY_MS, 30 * DAY_MS, retentionMs].map(window => Math.min(window, retentionMs));
}

export type VoteResult =
  { outcome: "voted" | "unvoted"; count: number } | { outcome: "refused-self"; count: number } | { outcome: "expired" };

export class OutputStore {
  readonly windows: number[];
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** OUTPUT_RETENTION_DAYS, in milliseconds. */
    readonly retentionMs: number,
  ) {
    this.windows = windowsFor(retentionMs);
    this.keys = new RedisKeys(prefix);
  }

  /** Saves the record; the first save also puts it on its server's boards. */
  async save(output: OutputRecord, now = Date.now()): Promise<void> {
    await runScript(
      this.redis,
      SAVE_OUTPUT,
      [this.keys.output(output.id), this.keys.votes(output.id)],
      [
        this.prefix,
        JSON.stringify(output),
        output.createdAt + this.retentionMs,
        output.guildId ?? "",
        output.authorId,
        output.createdAt,
        output.temperature,
        now,
        ...this.windows,
      ],
    );
  }

  async get(id: string): Promise<OutputRecord | undefined> {
    const raw = await this.redis.get(this.keys.output(id));
    return raw === null ? undefined : (JSON.parse(raw) as OutputRecord);
  }

  async getMany(ids: string[]): Promise<Array<OutputRecord | undefined>> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(...ids.map(id => this.keys.output(id)));
    return raws.map(raw => (raw === null ? undefined : (JSON.parse(raw) as OutputRecord)));
  }

  /**
   * Adds the member's vote, or takes it back if it was there, in one atomic step with the
   * boards. `click` names this click; `retryOf` names an earlier click of the member's on
   * this output that got no answer: if it did run, nothing changes (the member asked for
   * the state it made).
   */
  async toggleVote(
    outputId: string,
    memberId: string,
    options: { selfVotes: boolean; click?: string; retryOf?: string; now?: number },
  ): Promise<VoteResult> {
    const [code, count, added] = (await runScript(
      this.redis,
      TOGGLE_VOTE,
      [this.keys.output(outputId), this.keys.votes(outputId), this.keys.voteClick(outputId, memberId)],
      [
        this.prefix,
        memberId,
        options.selfVotes ? "1" : "0",
        options.now ?? Date.now(),
        options.click ?? "",
        options.retryOf ?? "",
      ],
    )) as [number, number, number];
    if (code === 1) return { outcome: "expired" };
    if (code === 2) return { outcome: "refused-self", count };
    return { outcome: added === 1 ? "voted" : "unvoted", count };
  }

  /**
   * A page of the member's own outputs, newest first (/weird-mine), with their vote counts, and
   * how many they have on record. Entries past the retention are dropped first.
   */
  async mine(
    memberId: string,
    offset: number,
    count: number,
    now = Date.now(),
  ): Promise<{ total: number; page: Array<{ output: OutputRecord; votes: number }> }> {
    const key = this.keys.memberOutputs(memberId);
    const replies = await this.redis
      .multi()
      .zremrangebyscore(key, "-inf", now - this.retentionMs)
      .zcard(key)
      .zrevrange(key, offset, offset + count - 1)
      .exec();
    const [, [, total], [, ids]] = replies as [unknown, [unknown, number], [unknown, string[]]];
    const records = await this.getMany(ids);
    const votes = await Promise.all(ids.map(id => this.voteCount(id)));
    // A record can be gone before its entry (trimmed off a board ahead of the list): skipped.
    const page = records.flatMap((output, i) => (output ? [{ output, votes: votes[i]! }] : []));
    return { total, page };
  }

  async voteCount(outputId: string): Promise<number> {
    return this.redis.scard(this.keys.votes(outputId));
  }
}
