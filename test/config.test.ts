import { describe, expect, it } from "vitest";
import { ConfigError, loadBotConfig, loadWorkerConfig } from "../src/config.js";

describe("configuration", () => {
  it("names every missing or invalid setting at once", () => {
    const load = () => loadWorkerConfig({ REDIS_URL: "localhost:6379", WORKER_CONCURRENCY: "zero", DISCORD_API_URL: "discord.com", LLAMA_GPU: "tpu" });
    expect(load).toThrow(ConfigError);
    try {
      load();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'LLAMA_GPU must be one of auto, cpu, cuda, vulkan, metal, got "tpu"',
        'WORKER_CONCURRENCY must be a whole number from 1 to 64, got "zero"',
        "MODEL is required (a GGUF path or a model URI such as hf:user/repo/file.gguf)",
        "DISCORD_TOKEN is required (the bot token from the Discord developer portal)",
        'DISCORD_API_URL must be an http(s) URL, got "discord.com"',
        'REDIS_URL must start with redis:// or rediss://, got "localhost:6379"',
      ]);
    }
  });

  it("has sensible defaults for everything but the token", () => {
    const config = loadBotConfig({ DISCORD_TOKEN: "t" });
    expect(config.discord).toEqual({ token: "t", apiUrl: "https://discord.com/api" });
    expect(config.queue).toEqual({ redisUrl: "redis://127.0.0.1:6379", prefix: "{belowzero}", maxPerGuild: 5, maxTotal: 50, cooldownMs: 15_000 });
    expect(config.defaults).toEqual({ temperature: -0.001, maxTokens: 64 });
  });
});
