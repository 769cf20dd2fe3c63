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

  it("reads one model (MODEL, MODEL_ID) or several (MODELS), each with its own id", () => {
    const base = { DISCORD_TOKEN: "t" };
    expect(loadWorkerConfig({ ...base, MODEL: "m.gguf" }).models).toEqual([{ model: "m.gguf" }]);
    expect(loadWorkerConfig({ ...base, MODEL: "m.gguf", MODEL_ID: "m" }).models).toEqual([
      { model: "m.gguf", id: "m" },
    ]);
    const several = loadWorkerConfig({
      ...base,
      MODELS: " tiny = models/a.gguf , big=https://example.com/b.gguf?download=1&x=y",
      MODELS_AT_ONCE: "2",
    });
    expect(several.models).toEqual([
      { id: "tiny", model: "models/a.gguf" },
      { id: "big", model: "https://example.com/b.gguf?download=1&x=y" },
    ]);
    expect(several.modelsAtOnce).toBe(2);
    expect(loadWorkerConfig({ ...base, MODELS: "solo=a.gguf" }).models).toEqual([{ id: "solo", model: "a.gguf" }]);
  });

  it("refuses a MODELS list it cannot serve, naming what is wrong", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadWorkerConfig({ DISCORD_TOKEN: "t", ...env });
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ MODELS: "a.gguf" })).toEqual([
      'MODELS: each entry must be id=path (as in tiny=models/tiny.gguf), got "a.gguf"',
    ]);
    expect(problems({ MODELS: "a=x.gguf,," })).toEqual([
      'MODELS: each entry must be id=path (as in tiny=models/tiny.gguf), got ""',
    ]);
    expect(problems({ MODELS: "a=" })).toEqual([
      'MODELS: each entry must be id=path (as in tiny=models/tiny.gguf), got "a="',
    ]);
    expect(problems({ MODELS: "=x.gguf" })).toEqual([
      'MODELS: "" is not a model id (1 to 64 letters, digits, dots, dashes or underscores)',
    ]);
    expect(problems({ MODELS: "my model=x.gguf" })).toEqual([
      'MODELS: "my model" is not a model id (1 to 64 letters, digits, dots, dashes or underscores)',
    ]);
    expect(problems({ MODELS: "a=x.gguf,a=y.gguf" })).toEqual(['MODELS: the id "a" is given twice']);
    expect(problems({ MODELS: "a=x.gguf,b=x.gguf" })).toEqual(["MODELS: x.gguf is given twice"]);
    expect(problems({ MODELS: "a=x.gguf", MODEL_ID: "y" })).toEqual([
      "MODELS names every model with its id: leave MODEL_ID unset beside it",
    ]);
    // docker-compose.yml always sets MODEL: beside MODELS it is not used, and said so.
    const both = loadWorkerConfig({ DISCORD_TOKEN: "t", MODELS: "a=x.gguf", MODEL: "/models/y.gguf" });
    expect(both.models).toEqual([{ id: "a", model: "x.gguf" }]);
    expect(both.warnings).toEqual(["MODEL (/models/y.gguf) is not used: MODELS names the models this worker serves"]);
    expect(loadWorkerConfig({ DISCORD_TOKEN: "t", MODEL: "y.gguf" }).warnings).toEqual([]);
    expect(problems({ MODELS: "a=x.gguf,b=y.gguf", MODELS_AT_ONCE: "0" })).toEqual([
      'MODELS_AT_ONCE must be a whole number from 1 to 64, got "0"',
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
