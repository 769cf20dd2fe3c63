import { describe, expect, it } from "vitest";
import { ConfigError, loadBotConfig, loadWorkerConfig } from "../src/config.js";

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
});
