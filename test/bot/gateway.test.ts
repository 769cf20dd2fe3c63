// Which gateway shards a bot process connects: the ShardingManager's share, or shard 0 of 1,
// and never the operator's GATEWAY_SHARDS (or its former name SHARD_COUNT, discord.js's own).
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { Client } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assignedShards, createBot } from "../../src/bot/bot.js";
import { FakeDiscord } from "../helpers/fakeDiscord.js";
import { botConfig, deleteKeys, startBot, testPrefix } from "../helpers/discordBot.js";

const root = resolve(import.meta.dirname, "../..");

/** Runs `body` with `name` set in this process's environment, as a .env file would set it. */
function withEnv<T>(name: string, value: string, body: () => T): T {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return body();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

describe("a bot process's gateway shards", () => {
  it("are the ShardingManager's share under one, else shard 0 of 1, whatever else the environment says", () => {
    const manager = { SHARDING_MANAGER: "true", SHARDS: "2", SHARD_COUNT: "4", GATEWAY_SHARDS: "auto" };
    expect(assignedShards(manager)).toEqual({ shards: [2], shardCount: 4 });
    expect(assignedShards({ SHARDS: "2", SHARD_COUNT: "auto", GATEWAY_SHARDS: "8" })).toEqual({
      shards: [0],
      shardCount: 1,
    });
  });

  it("reach the client as given: discord.js does not read SHARDS over them", async () => {
    const bot = await startBot(botConfig("http://127.0.0.1:1/api", testPrefix()));
    try {
      const client = withEnv("SHARDS", "[0, 1, 2]", () => createBot(bot.ctx, { shards: [2], shardCount: 4 }));
      expect(client.options.shards).toEqual([2]);
      expect(client.options.shardCount).toBe(4);
      expect(bot.client.options.shards).toEqual([0]);
      expect(bot.client.options.shardCount).toBe(1);
      await client.destroy();
    } finally {
      await bot.close();
    }
  });

  // Why a bot started on its own must not see SHARD_COUNT: the library fact, checked so an
  // upgrade that changes it shows here.
  it("discord.js 14.28.1 takes SHARD_COUNT from the environment whenever shardCount is 1", () => {
    const client = withEnv("SHARD_COUNT", "4", () => new Client({ intents: [], shards: [0], shardCount: 1 }));
    expect(client.options.shardCount).toBe(4);
    expect(() => withEnv("SHARD_COUNT", "auto", () => new Client({ intents: [], shards: [0], shardCount: 1 }))).toThrow(
      /shardCount/,
    );
  });
});

describe("a bot started on its own with the deprecated SHARD_COUNT=auto", () => {
  let discord: FakeDiscord;
  const prefix = testPrefix();
  beforeAll(async () => {
    discord = await new FakeDiscord().start();
  });
  afterAll(async () => {
    await discord?.stop();
    await deleteKeys(prefix);
  });

  it("warns that it is deprecated and goes on to log in (the fake Discord has no gateway, so it stops there)", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", resolve(root, "src/bot/main.ts")], {
      cwd: root,
      env: {
        ...process.env,
        DISCORD_TOKEN: "test-token",
        DISCORD_API_URL: discord.url,
        REDIS_PREFIX: prefix,
        SHARD_COUNT: "auto",
        METRICS_PORT: "0",
      },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise(done => child.on("exit", done));
    expect(output).toContain("SHARD_COUNT is deprecated and will stop working: rename it GATEWAY_SHARDS (same value)");
    expect(output).not.toMatch(/shardCount/);
    expect(discord.requests.some(r => r.path === "/gateway/bot")).toBe(true);
    expect(code).toBe(1);
  }, 60_000);
});
