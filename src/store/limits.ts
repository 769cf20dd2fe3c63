// Per-user cooldowns and queue caps (per server and overall), so a busy bot gives a clear
// "queue is full" instead of unbounded growth.
import type { Redis } from "ioredis";

/** A reservation older than this is a leftover of a lost job and no longer counts. */
const RESERVATION_TTL_MS = 60 * 60 * 1000;

// Checks both caps and takes a slot in both in one step, so requests arriving together
// cannot all slip under a cap. Returns 0 when reserved, 1 when the server is full, 2 when
// everything is full; then the count found.
const RESERVE = `
local now, ttl, jobId = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local maxGroup, maxTotal = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - ttl)
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", now - ttl)
local total = redis.call("ZCARD", KEYS[2])
if total >= maxTotal then return {2, total} end
local group = redis.call("ZCARD", KEYS[1])
if group >= maxGroup then return {1, group} end
redis.call("ZADD", KEYS[1], now, jobId)
redis.call("ZADD", KEYS[2], now, jobId)
return {0, group + 1}
`;

export type Reservation = { ok: true } | { ok: false; full: "server" | "everything"; count: number };

export interface Caps {
  maxPerGuild: number;
  maxTotal: number;
}

export class Limits {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Starts the user's cooldown; returns 0 if they may go, else the milliseconds left. */
  async startCooldown(userId: string, cooldownMs: number): Promise<number> {
    if (cooldownMs <= 0) return 0;
    const key = `${this.prefix}:cooldown:${userId}`;
    if ((await this.redis.set(key, "1", "PX", cooldownMs, "NX")) === "OK") return 0;
    return Math.max(1, await this.redis.pttl(key));
  }

  async clearCooldown(userId: string): Promise<void> {
    await this.redis.del(`${this.prefix}:cooldown:${userId}`);
  }

  /** Per server; in direct messages per user, so DM users do not share one bucket. */
  private groupKey(guildId: string | null, userId: string): string {
    return `${this.prefix}:pending:${guildId ?? `dm-${userId}`}`;
  }

  private get totalKey(): string {
    return `${this.prefix}:pending-all`;
  }

  /** Takes a queue slot for this job, unless its server's or the global cap is reached. */
  async reserve(
    guildId: string | null,
    userId: string,
    jobId: string,
    caps: Caps,
    now = Date.now(),
  ): Promise<Reservation> {
    const [code, count] = (await this.redis.eval(
      RESERVE,
      2,
      this.groupKey(guildId, userId),
      this.totalKey,
      now,
      RESERVATION_TTL_MS,
      jobId,
      caps.maxPerGuild,
      caps.maxTotal,
    )) as [number, number];
    return code === 0 ? { ok: true } : { ok: false, full: code === 1 ? "server" : "everything", count };
  }

  /** Frees the job's slot: when it is done, has failed for good, or never made it into the queue. */
  async release(guildId: string | null, userId: string, jobId: string): Promise<void> {
    await this.redis.multi().zrem(this.groupKey(guildId, userId), jobId).zrem(this.totalKey, jobId).exec();
  }

  /** Jobs of this server (or DM user) that are queued or running. */
  async pendingCount(guildId: string | null, userId: string): Promise<number> {
    return this.redis.zcard(this.groupKey(guildId, userId));
  }
}
