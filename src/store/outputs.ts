// Records that must survive restarts: each output, and its votes as a set of members (a vote
// is (output, member), so a repeated click is a no-op, not a second vote). Both expire after
// the retention; saving and voting also keep the server's boards (src/store/community.ts).
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { Schedule } from "../engine/schedule.js";
import { SAVE_OUTPUT, TOGGLE_VOTE } from "./communityScripts.js";

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
  model: string;
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
  /** For a sweep's rows: every row's output id, in the order of the message's buttons. */
  sweepRows?: string[];
}

export const DAY_MS = 24 * 3600 * 1000;
export const DEFAULT_RETENTION_DAYS = 90;

export type Period = "day" | "week" | "month" | "all";
export const PERIODS: readonly Period[] = ["day", "week", "month", "all"];

/** Rolling windows, shortest first; "all" is the retention, and none is longer than it. */
export function windowsFor(retentionMs: number): number[] {
  return [DAY_MS, 7 * DAY_MS, 30 * DAY_MS, retentionMs].map(window => Math.min(window, retentionMs));
}

/** How a ranked output is named on the boards (see communityScripts.ts). */
export function rankIdOf(output: Pick<OutputRecord, "createdAt" | "authorId" | "id">): string {
  return `${String(output.createdAt).padStart(13, "0")}:${output.authorId}:${output.id}`;
}

export function outputIdOfRank(rankId: string): string {
  return rankId.split(":").slice(2).join(":");
}

/** Weirdness as the boards store it: clamped to [0, 4095] nats, 1e-6 resolution; −1 when unknown. */
function weirdnessScore(surprisal: number | undefined): number {
  if (surprisal === undefined || !Number.isFinite(surprisal)) return -1;
  return Math.floor(Math.min(Math.max(surprisal, 0), 4095) * 2 ** 20);
}

/** Runs a Lua script by its hash, sending the body only when Redis has not seen it yet. */
export async function runScript(
  redis: Redis,
  script: string,
  keys: string[],
  args: Array<string | number>,
): Promise<unknown> {
  const sha = shaOf(script);
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}
const shas = new Map<string, string>();
function shaOf(script: string): string {
  let sha = shas.get(script);
  if (!sha) shas.set(script, (sha = createHash("sha1").update(script).digest("hex")));
  return sha;
}

export type VoteResult =
  { outcome: "voted" | "unvoted"; count: number } | { outcome: "refused-self"; count: number } | { outcome: "expired" };

export class OutputStore {
  readonly windows: number[];

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly retentionMs = DEFAULT_RETENTION_DAYS * DAY_MS,
  ) {
    this.windows = windowsFor(retentionMs);
  }

  private key(kind: string, id: string): string {
    return `${this.prefix}:${kind}:${id}`;
  }

  /** Saves the record; the first save also puts it on its server's boards. */
  async save(output: OutputRecord, now = Date.now()): Promise<void> {
    await runScript(
      this.redis,
      SAVE_OUTPUT,
      [this.key("output", output.id), this.key("votes", output.id)],
      [
        this.prefix,
        JSON.stringify(output),
        output.createdAt + this.retentionMs,
        output.guildId ?? "",
        output.authorId,
        output.createdAt,
        rankIdOf(output),
        weirdnessScore(output.surprisal),
        output.temperature,
        now,
        ...this.windows,
      ],
    );
  }

  async get(id: string): Promise<OutputRecord | undefined> {
    const raw = await this.redis.get(this.key("output", id));
    return raw === null ? undefined : (JSON.parse(raw) as OutputRecord);
  }

  async getMany(ids: string[]): Promise<Array<OutputRecord | undefined>> {
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(...ids.map(id => this.key("output", id)));
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
      [this.key("output", outputId), this.key("votes", outputId), this.key("vote-click", `${outputId}:${memberId}`)],
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

  async voteCount(outputId: string): Promise<number> {
    return this.redis.scard(this.key("votes", outputId));
  }
}
