// Per-user cooldowns and per-server queue caps, so a busy server gets a clear "queue is
// full" instead of unbounded growth.
import type { Redis } from "ioredis";

/** A pending entry older than this is a leftover of a lost job and no longer counts. */
const PENDING_TTL_MS = 60 * 60 * 1000;

export class Limits {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

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
  private pendingKey(guildId: string | null, userId: string): string {
    return `${this.prefix}:pending:${guildId ?? `dm-${userId}`}`;
  }

  /** Jobs of this server that are queued or running. */
  async pendingCount(guildId: string | null, userId: string, now = Date.now()): Promise<number> {
    const key = this.pendingKey(guildId, userId);
    await this.redis.zremrangebyscore(key, "-inf", now - PENDING_TTL_MS);
    return this.redis.zcard(key);
  }

  async addPending(guildId: string | null, userId: string, jobId: string, now = Date.now()): Promise<void> {
    await this.redis.zadd(this.pendingKey(guildId, userId), now, jobId);
  }

  async removePending(guildId: string | null, userId: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.pendingKey(guildId, userId), jobId);
  }
}
