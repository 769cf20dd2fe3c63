// The settings of running and scaling: metrics port, log level, shards, Redis Cluster.
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  deprecationWarnings,
  loadBotConfig,
  loadGatewayShards,
  loadOperationsSettings,
} from "../../src/config.js";

const problemsOf = (load: () => unknown): string[] => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe("operations settings", () => {
  it("default to no metrics port, info logs and as many shards as Discord recommends", () => {
    expect(loadOperationsSettings({})).toEqual({ metricsPort: 0, logLevel: "info" });
    expect(loadOperationsSettings({ METRICS_PORT: "9464", LOG_LEVEL: "debug" })).toEqual({
      metricsPort: 9464,
      logLevel: "debug",
    });
    expect(loadGatewayShards({})).toBe("auto");
    expect(loadGatewayShards({ GATEWAY_SHARDS: "4" })).toBe(4);
    expect(loadGatewayShards({ SHARD_COUNT: "4" })).toBe(4); // the former name, still read
  });

  it("name every bad value at once", () => {
    expect(problemsOf(() => loadOperationsSettings({ METRICS_PORT: "70000", LOG_LEVEL: "loud" }))).toEqual([
      'METRICS_PORT must be a whole number from 0 to 65535, got "70000"',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
    expect(problemsOf(() => loadGatewayShards({ GATEWAY_SHARDS: "0" }))).toEqual([
      'GATEWAY_SHARDS must be auto or a whole number of shards from 1 to 10000, got "0"',
    ]);
  });

  it("take the shard count from GATEWAY_SHARDS or its former name SHARD_COUNT, not from both", () => {
    expect(deprecationWarnings({ SHARD_COUNT: "auto" })).toEqual([
      "SHARD_COUNT is deprecated and will stop working: rename it GATEWAY_SHARDS (same value)",
    ]);
    expect(problemsOf(() => loadGatewayShards({ GATEWAY_SHARDS: "auto", SHARD_COUNT: "2" }))).toEqual([
      'GATEWAY_SHARDS and SHARD_COUNT (its deprecated former name) are both set, to "auto" and "2": keep GATEWAY_SHARDS only',
    ]);
  });
});

describe("Redis Cluster settings", () => {
  it("turn REDIS_CLUSTER_NODES into a cluster URL, which REDIS_URL may also give", () => {
    const nodes = loadBotConfig({ DISCORD_TOKEN: "t", REDIS_CLUSTER_NODES: "10.0.0.1:6379, 10.0.0.2:6379" });
    expect(nodes.queue.redisUrl).toBe("redis+cluster://10.0.0.1:6379,10.0.0.2:6379");
    const url = loadBotConfig({ DISCORD_TOKEN: "t", REDIS_URL: "rediss+cluster://:secret@r1:6380,r2:6380" });
    expect(url.queue.redisUrl).toBe("rediss+cluster://:secret@r1:6380,r2:6380");
  });

  it("refuse malformed nodes, and a queue prefix without a hash tag on a cluster", () => {
    expect(problemsOf(() => loadBotConfig({ DISCORD_TOKEN: "t", REDIS_CLUSTER_NODES: "10.0.0.1" }))).toEqual([
      'REDIS_CLUSTER_NODES must be host:port pairs separated by commas, got "10.0.0.1"',
    ]);
    expect(
      problemsOf(() => loadBotConfig({ DISCORD_TOKEN: "t", REDIS_CLUSTER_NODES: "10.0.0.1:6379", REDIS_PREFIX: "bz" })),
    ).toEqual(['REDIS_PREFIX must contain a {hash tag} on a Redis Cluster, got "bz"']);
  });
});
