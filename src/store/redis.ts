import { createHash } from "node:crypto";
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
 * Every key matching `pattern`, a batch at a time: on a Redis Cluster SCAN reads one node,
 * so each master is scanned in turn.
 */
export async function* scanKeys(redis: Redis, pattern: string, count = 500): AsyncGenerator<string[]> {
  const cluster = (redis as unknown) instanceof Cluster ? (redis as unknown as Cluster) : undefined;
  if (cluster && cluster.status !== "ready") await new Promise(resolve => cluster.once("ready", resolve));
  for (const node of cluster ? cluster.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", count);
      cursor = next;
      yield keys;
    } while (cursor !== "0");
  }
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

/** Redis must answer well within Discord's 3-second window for an interaction's first reply. */
const REDIS_DEADLINE_MS = 2000;

/** Runs Redis work, failing fast when the connection is down (`redisReady` false) or slow. */
export async function withRedis<T>(ctx: { redisReady: () => boolean }, work: () => Promise<T>): Promise<T> {
  if (!ctx.redisReady()) throw new Error("Redis connection is not ready");
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Redis did not answer in time")), REDIS_DEADLINE_MS);
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
