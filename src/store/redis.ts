import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { CLUSTER_URL } from "./redisUrl.js";

function connect(url: string, options: RedisOptions): Redis {
  const cluster = CLUSTER_URL.exec(url);
  if (!cluster) return new Redis(url, options);
  const [, scheme, username, password, hosts] = cluster;
  const nodes = hosts!.split(",").map(node => {
    const [host, port] = node.split(":");
    return { host: host!, port: Number(port ?? 6379) };
  });
  const redisOptions: RedisOptions = {
    ...options,
    ...(username && { username: decodeURIComponent(username) }),
    ...(password && { password: decodeURIComponent(password) }),
    ...(scheme === "rediss" && { tls: {} }),
  };
  const clusterOptions: ClusterOptions = {
    redisOptions,
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    ...(options.maxRetriesPerRequest !== undefined && { maxRetriesPerRequest: options.maxRetriesPerRequest }),
  };
  // The stores and BullMQ use only the command API, which a Cluster shares with a Redis.
  return new Cluster(nodes, clusterOptions) as unknown as Redis;
}

/**
 * The bot's connection: commands fail at once while Redis is down (no offline queue, short
 * timeouts), so a user hears "the queue is unavailable" within Discord's 3 seconds instead
 * of waiting; ioredis keeps reconnecting in the background and the bot recovers by itself.
 */
export function producerConnection(url: string): Redis {
  const redis = connect(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1500,
    connectTimeout: 2000,
    lazyConnect: false,
  });
  redis.on("error", () => undefined); // reported per command; reconnects on its own
  return redis;
}

/**
 * Workers wait for Redis instead of failing: BullMQ requires maxRetriesPerRequest null.
 * Errors go to `report` (the worker's structured log), once per outage.
 */
export function workerConnection(url: string, report: (message: string) => void = console.error): Redis {
  const redis = connect(url, { maxRetriesPerRequest: null });
  const say = oncePerOutage(redis, report);
  redis.on("error", (error: Error) => say(`redis: ${error.message}`));
  return redis;
}

/**
 * A reporter that says each message once until `connection` is ready again: every
 * reconnection attempt repeats the same error, on the connection and on whatever is built on
 * it (BullMQ forwards them all).
 */
export function oncePerOutage(connection: Redis, report: (message: string) => void): (message: string) => void {
  const said = new Set<string>();
  connection.on("ready", () => said.clear());
  return message => {
    if (said.has(message)) return;
    said.add(message);
    report(message);
  };
}
