import { Redis } from "ioredis";

/**
 * The bot's connection: commands fail at once while Redis is down (no offline queue, short
 * timeouts), so a user hears "the queue is unavailable" within Discord's 3 seconds instead
 * of waiting; ioredis keeps reconnecting in the background and the bot recovers by itself.
 */
export function producerConnection(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1500,
    connectTimeout: 2000,
    lazyConnect: false,
  });
  redis.on("error", () => undefined); // reported per command; reconnects on its own
  return redis;
}

/** Workers wait for Redis instead of failing: BullMQ requires maxRetriesPerRequest null. */
export function workerConnection(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on("error", error => console.error(`redis: ${error.message}`));
  return redis;
}
