import { describe, expect, it } from "vitest";
import { ConfigError, deprecationWarnings, loadBotConfig, loadWorkerConfig } from "../src/config.js";

describe("configuration", () => {
  it("names every missing or invalid setting at once", () => {
    const load = () =>
      loadWorkerConfig({
        REDIS_URL: "localhost:6379",
        WORKER_CONCURRENCY: "zero",
        DISCORD_API_URL: "discord.com",
        LLAMA_GPU: "tpu",
      });
    let thrown: unknown;
    try {
      load();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).problems).toEqual([
      'LLAMA_GPU must be one of auto, cpu, cuda, vulkan, metal, got "tpu"',
      'WORKER_CONCURRENCY must be a whole number from 1 to 64, got "zero"',
      "MODEL is required (a GGUF path or a model URI such as hf:user/repo/file.gguf)",
      "DISCORD_TOKEN is required (the bot token from the Discord developer portal)",
      'DISCORD_API_URL must be an http(s) URL, got "discord.com"',
      'REDIS_URL must start with redis:// or rediss://, got "localhost:6379"',
    ]);
  });

  it("checks the /weird defaults against the request limits", () => {
    expect(() => loadBotConfig({ DISCORD_TOKEN: "t", DEFAULT_MAX_TOKENS: "1000", DEFAULT_TEMPERATURE: "200" })).toThrow(
      /DEFAULT_TEMPERATURE: Temperature must be between -100 and 100, got 200\.[\s\S]*DEFAULT_MAX_TOKENS: Max tokens must be a whole number from 1 to 512, got 1000\./,
    );
  });

  it("has sensible defaults for everything but the token", () => {
    const config = loadBotConfig({ DISCORD_TOKEN: "t" });
    expect(config.discord).toEqual({ token: "t", apiUrl: "https://discord.com/api" });
    expect(config.queue).toEqual({
      redisUrl: "redis://127.0.0.1:6379",
      prefix: "{belowzero}",
      maxPerGuild: 5,
      maxTotal: 50,
      cooldownMs: 15_000,
      modelWaitMs: 120_000,
      replyWindowMs: 870_000,
    });
    expect(config.defaults).toEqual({ temperature: -0.001, maxTokens: 64 });
  });

  it("reads only what the bot uses: the worker's llama.cpp settings are not the bot's to refuse", () => {
    const config = loadBotConfig({
      DISCORD_TOKEN: "t",
      LLAMA_GPU: "quantum",
      DISCORD_APPLICATION_ID: "123456789012345678",
    });
    expect(config.discord.applicationId).toBe("123456789012345678");
    expect(() => loadBotConfig({ DISCORD_TOKEN: "t", DISCORD_APPLICATION_ID: "my-app" })).toThrow(
      /DISCORD_APPLICATION_ID must be an application id/,
    );
  });

  it("still reads QUEUE_PREFIX, REDIS_PREFIX's former name, and warns once that it is deprecated", () => {
    expect(loadBotConfig({ DISCORD_TOKEN: "t", REDIS_PREFIX: "{new}" }).queue.prefix).toBe("{new}");
    expect(deprecationWarnings({ REDIS_PREFIX: "{new}" })).toEqual([]);

    const old = { DISCORD_TOKEN: "t", QUEUE_PREFIX: "{old}" };
    expect(loadBotConfig(old).queue.prefix).toBe("{old}");
    expect(loadWorkerConfig({ ...old, MODEL: "m.gguf" }).queue.prefix).toBe("{old}");
    expect(deprecationWarnings(old)).toEqual([
      "QUEUE_PREFIX is deprecated and will stop working: rename it REDIS_PREFIX (same value)",
    ]);
    // The same value under both names is a configuration half-way through its rename.
    expect(loadBotConfig({ ...old, REDIS_PREFIX: " {old} " }).queue.prefix).toBe("{old}");
    // The old name is checked like the new one.
    expect(() => loadBotConfig({ ...old, QUEUE_PREFIX: "bz", REDIS_URL: "redis+cluster://r1:6379" })).toThrow(
      'REDIS_PREFIX must contain a {hash tag} on a Redis Cluster, got "bz"',
    );
  });

  it("refuses REDIS_PREFIX and QUEUE_PREFIX set to different values, naming both", () => {
    let thrown: unknown;
    try {
      loadBotConfig({ DISCORD_TOKEN: "t", REDIS_PREFIX: "{new}", QUEUE_PREFIX: "{old}" });
    } catch (error) {
      thrown = error;
    }
    expect((thrown as ConfigError).problems).toEqual([
      'REDIS_PREFIX and QUEUE_PREFIX (its deprecated former name) are both set, to "{new}" and "{old}": keep REDIS_PREFIX only',
    ]);
  });
});
