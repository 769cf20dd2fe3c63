// Per-member cooldowns and queue caps (per server and overall), so a busy bot gives a clear
// "queue is full" instead of unbounded growth. A job holds a *place* in the queue from the
// moment it is admitted until it is done or has failed for good.
import type { Redis } from "ioredis";
import { RedisKeys } from "./keys.js";

/** A place older than this is a leftover of a lost job and no longer counts. */
const PLACE_TTL_MS = 60 * 60 * 1000;

// Checks both caps and takes a place in both for every job (KEYS[3..] their place keys,
// ARGV[5..] their ids) in one step, all or none, so requests arriving together cannot all
// slip under a cap. It also remembers which group each job counts against, so the place can
// be freed knowing only the job id (a malformed job's payload may say nothing else). Returns
// 0 when admitted, 1 when the server is full, 2 when everything is full; then the count found.
const CLAIM = `
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local maxGroup, maxTotal = tonumber(ARGV[3]), tonumber(ARGV[4])
local n = #KEYS - 2
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - ttl)
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", now - ttl)
local total = redis.call("ZCARD", KEYS[2])
if total + n > maxTotal then return {2, total} end
local group = redis.call("ZCARD", KEYS[1])
if group + n > maxGroup then return {1, group} end
for i = 1, n do
  redis.call("ZADD", KEYS[1], now, ARGV[4 + i])
  redis.call("ZADD", KEYS[2], now, ARGV[4 + i])
  redis.call("SET", KEYS[2 + i], KEYS[1], "PX", ttl)
end
return {0, group + 1}
`;

/** count: the group's jobs queued or running, this one included when admitted. */
export type Admission = { ok: true; count: number } | { ok: false; full: "server" | "everything"; count: number };

export interface QueueCaps {
  maxPerGuild: number;
  maxTotal: number;
}

/** Generations and scores ("How weird is this?") have cooldowns of their own. */
export type CooldownKind = "generation" | "score";

const CLEAR_OWN = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

export class Throttle {
  private readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new RedisKeys(prefix);
  }

  // Cooldowns are per member and server (in direct messages, per member alone): each server
  // sets its own length, so one server's long cooldown must not hold the member back elsewhere.

  /**
   * Starts the member's cooldown here for the request `jobId`; returns 0 if they may go, else
   * the milliseconds left.
   */
  async startCooldown(
    guildId: string | null,
    userId: string,
    jobId: string,
    cooldownMs: number,
    kind: CooldownKind = "generation",
  ): Promise<number> {
    if (cooldownMs <= 0) return 0;
    const key = this.cooldownKey(kind, guildId, userId);
    if ((await this.redis.set(key, jobId, "PX", cooldownMs, "NX")) === "OK") return 0;
    return Math.max(1, await this.redis.pttl(key));
  }

  /**
   * Ends the cooldown that request `jobId` started, and no other: when Redis timed out, the
   * request may never have started one, and the cooldown there is an earlier request's.
   */
  async clearCooldown(
    guildId: string | null,
    userId: string,
    jobId: string,
    kind: CooldownKind = "generation",
  ): Promise<void> {
    await this.redis.eval(CLEAR_OWN, 1, this.cooldownKey(kind, guildId, userId), jobId);
  }

  private cooldownKey(kind: CooldownKind, guildId: string | null, userId: string): string {
    return kind === "score" ? this.keys.scoreCooldown(guildId, userId) : this.keys.cooldown(guildId, userId);
  }

  /** Takes a place in the queue for this job, unless its server's or the global cap is reached. */
  async claimPlace(
    guildId: string | null,
    userId: string,
    jobId: string,
    caps: QueueCaps,
    now = Date.now(),
  ): Promise<Admission> {
    return this.claimPlaces(guildId, userId, [jobId], caps, now);
  }

  /**
   * Takes a place for every job, or for none when they would not all fit under both caps.
   * When admitted, count is the group's jobs with the first of these included.
   */
  async claimPlaces(
    guildId: string | null,
    userId: string,
    jobIds: string[],
    caps: QueueCaps,
    now = Date.now(),
  ): Promise<Admission> {
    const keys = [this.keys.pending(guildId, userId), this.keys.pendingAll, ...jobIds.map(id => this.keys.place(id))];
    const [code, count] = (await this.redis.eval(
      CLAIM,
      keys.length,
      ...keys,
      now,
      PLACE_TTL_MS,
      caps.maxPerGuild,
      caps.maxTotal,
      ...jobIds,
    )) as [number, number];
    return code === 0 ? { ok: true, count } : { ok: false, full: code === 1 ? "server" : "everything", count };
  }

  /** Frees the job's place: it is done, has failed for good, or never made it into the queue. */
  async freePlace(jobId: string): Promise<void> {
    const group = await this.redis.get(this.keys.place(jobId));
    const free = this.redis.multi().zrem(this.keys.pendingAll, jobId).del(this.keys.place(jobId));
    if (group) free.zrem(group, jobId);
    await free.exec();
  }
}
