// A side-by-side comparison (/weird-compare): one prompt and seed on several models or
// temperatures, each part its own job (on its model's queue) and its own output, all shown in
// one message. The message is composed from this saved state, never from one worker's view:
// whoever changes a part bumps the version, and whoever edits the message edits again if the
// version moved meanwhile, so two workers finishing at once cannot lose each other's result.
import type { Redis } from "ioredis";
import type { Vocabulary } from "../engine/vocabulary.js";
import { RedisKeys } from "./keys.js";

/** Most parts a comparison may have: three models at two temperatures (two rows of vote buttons). */
export const MAX_COMPARISON_PARTS = 6;
/** Long enough for any part to run or be answered (queue places last an hour, orphans a bounded wait). */
const COMPARISON_TTL_MS = 24 * 3600 * 1000;

/** What every part shares. */
export interface ComparisonRequest {
  prompt: string;
  maxTokens: number;
  seed: number;
  vocab?: Vocabulary;
}

/** One part: a model (as shown) at a temperature; its output id is its job id. */
export interface ComparisonPart {
  /** The model's id as the message names it. */
  label: string;
  temperature: number;
  outputId: string;
}

export type PartState =
  { state: "waiting" } | { state: "running" } | { state: "done" } | { state: "failed"; reason: string };

export interface Comparison {
  id: string;
  request: ComparisonRequest;
  parts: ComparisonPart[];
  states: PartState[];
  /** The message's id once shown, so it can be edited in the channel after the interaction token is gone. */
  messageId?: string;
  version: number;
}

/** Each part's output id: the comparison's id and the part's index (a job id, and a button's). */
export function partOutputId(comparisonId: string, part: number): string {
  return `${comparisonId}-${part}`;
}

/** The comparison and part an output id names (undefined for one that is no part's). */
export function partOfOutput(outputId: string): { id: string; part: number } | undefined {
  const match = /^(.+)-(\d+)$/.exec(outputId);
  return match ? { id: match[1]!, part: Number(match[2]) } : undefined;
}

// Sets a part's state and bumps the version, unless the comparison is gone or the part is
// already done (a late "failed" from a lost worker must not hide a result that arrived), or
// failed and this is a late "running" (failed is written only once the job has failed for good).
// Returns the new version, -1 when the comparison is gone, -2 when the part was done or failed.
const MARK = `
if redis.call("EXISTS", KEYS[1]) == 0 then return -1 end
local current = redis.call("HGET", KEYS[1], ARGV[1])
if current then
  local state = cjson.decode(current).state
  if state == "done" then return -2 end
  if state == "failed" and cjson.decode(ARGV[2]).state == "running" then return -2 end
end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
return redis.call("HINCRBY", KEYS[1], "version", 1)
`;

export class ComparisonStore {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  /** Written by the bot before any part is queued. */
  async create(id: string, request: ComparisonRequest, parts: ComparisonPart[]): Promise<void> {
    const key = this.keys.comparison(id);
    await this.redis
      .multi()
      .hset(key, { request: JSON.stringify(request), parts: JSON.stringify(parts), version: 0 })
      .pexpire(key, COMPARISON_TTL_MS)
      .exec();
  }

  /** Returns false when nothing changed (the comparison is gone, or the part was already done). */
  async mark(id: string, part: number, state: PartState): Promise<boolean> {
    const version = (await this.redis.eval(
      MARK,
      1,
      this.keys.comparison(id),
      `state:${part}`,
      JSON.stringify(state),
    )) as number;
    return version >= 0;
  }

  async setMessage(id: string, messageId: string): Promise<void> {
    const key = this.keys.comparison(id);
    // Only onto a comparison that still exists: HSET alone would recreate it without an expiry.
    if ((await this.redis.exists(key)) === 1) await this.redis.hset(key, "message", messageId);
  }

  async version(id: string): Promise<number | undefined> {
    const raw = await this.redis.hget(this.keys.comparison(id), "version");
    return raw === null ? undefined : Number(raw);
  }

  async get(id: string): Promise<Comparison | undefined> {
    const raw = await this.redis.hgetall(this.keys.comparison(id));
    if (raw.request === undefined || raw.parts === undefined) return undefined;
    const parts = JSON.parse(raw.parts) as ComparisonPart[];
    return {
      id,
      request: JSON.parse(raw.request) as ComparisonRequest,
      parts,
      states: parts.map((_, i) => {
        const state = raw[`state:${i}`];
        return state === undefined ? { state: "waiting" } : (JSON.parse(state) as PartState);
      }),
      ...(raw.message !== undefined && { messageId: raw.message }),
      version: Number(raw.version ?? 0),
    };
  }
}
