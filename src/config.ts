// Environment → one validated, typed config. Every problem is collected and reported at
// once, so a misconfigured deployment is fixed in one round.
import { homedir } from "node:os";
import { join } from "node:path";
import type { EngineOptions } from "./engine/engine.js";
import { checkMaxTokens, checkTemperature, DEFAULT_LIMITS, type RequestLimits } from "./engine/request.js";

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map(p => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads typed settings from the environment, remembering every problem it meets. */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? fallback : value;
  }

  integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["1", "true", "yes", "on"].includes(raw)) return true;
    if (["0", "false", "no", "off"].includes(raw)) return false;
    this.problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if ((choices as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${choices.join(", ")}, got "${raw}"`);
    return fallback;
  }

  /** Throws a ConfigError naming every problem found so far. */
  check(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

export function defaultCacheDir(env: Env = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "belowzero");
}

/** Engine settings shared by the worker and the CLI; the model itself may come from elsewhere. */
export function readEngineOptions(
  reader: EnvReader,
  env: Env = process.env,
): Omit<EngineOptions, "model"> & { model?: string } {
  const gpu = reader.choice("LLAMA_GPU", ["auto", "cpu", "cuda", "vulkan", "metal"] as const, "auto");
  const gpuLayersRaw = reader.string("LLAMA_GPU_LAYERS", "auto");
  const gpuLayers =
    gpuLayersRaw === "auto" || gpuLayersRaw === "max" ? gpuLayersRaw : reader.integer("LLAMA_GPU_LAYERS", 0, 0, 10_000);
  const threads =
    reader.string("LLAMA_THREADS") === undefined ? undefined : reader.integer("LLAMA_THREADS", 1, 1, 1024);
  return {
    model: reader.string("MODEL"),
    modelsDir: reader.string("MODELS_DIR", "models"),
    cacheDir: reader.string("BELOWZERO_CACHE_DIR", defaultCacheDir(env)),
    gpu: gpu === "cpu" ? false : gpu,
    gpuLayers,
    ...(threads !== undefined && { threads }),
    contextSize: reader.integer("LLAMA_CONTEXT_SIZE", 1024, 64, 1 << 20),
    concurrency: reader.integer("WORKER_CONCURRENCY", 1, 1, 64),
    limits: {
      maxTokensCap: reader.integer("MAX_TOKENS_CAP", 512, 1, 8192),
      maxAbsTemperature: reader.number("MAX_ABS_TEMPERATURE", 100, 0.001, 1e6),
      maxPromptCharacters: reader.integer("MAX_PROMPT_CHARS", 2000, 1, 100_000),
    },
    negation: {
      route: reader.choice("NEGATION_ROUTE", ["auto", "adapter", "copy"] as const, "auto"),
      copyMaxBytes: reader.integer("NEGATION_COPY_MAX_MB", 1024, 0, 1 << 30) * 1024 * 1024,
    },
    tokenPolicy: {
      allowBytes: reader.boolean("ALLOW_BYTE_TOKENS", false),
      allowEndBelowZero: reader.boolean("ALLOW_END_BELOW_ZERO", false),
      allowAll: reader.boolean("ALLOW_ALL_TOKENS", false),
    },
  };
}

export interface DiscordSettings {
  token: string;
  /** REST base, so the system runs against API proxies, Discord-compatible servers and tests. */
  apiUrl: string;
  /** For guild-scoped command deployment; global when absent. */
  guildId?: string;
}

export interface QueueSettings {
  redisUrl: string;
  /** In braces, so every key of the queue hashes to one Redis Cluster slot. */
  prefix: string;
  maxPerGuild: number;
  maxTotal: number;
  cooldownMs: number;
}

export interface RequestDefaults {
  temperature: number;
  maxTokens: number;
}

export interface WorkerSettings {
  /** A job whose lock is not renewed within this time is considered stalled and retried. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Minimum time between streaming edits of a reply. */
  editIntervalMs: number;
}

export interface BotConfig {
  discord: DiscordSettings;
  queue: QueueSettings;
  defaults: RequestDefaults;
  limits: RequestLimits;
}
export interface WorkerConfig {
  discord: DiscordSettings;
  queue: QueueSettings;
  worker: WorkerSettings;
  engine: EngineOptions;
}

function readDiscord(reader: EnvReader): DiscordSettings {
  const token = reader.string("DISCORD_TOKEN");
  if (!token) reader.problems.push("DISCORD_TOKEN is required (the bot token from the Discord developer portal)");
  const apiUrl = reader.string("DISCORD_API_URL", "https://discord.com/api").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(apiUrl)) reader.problems.push(`DISCORD_API_URL must be an http(s) URL, got "${apiUrl}"`);
  const guildId = reader.string("DISCORD_GUILD_ID");
  if (guildId !== undefined && !/^\d{15,22}$/.test(guildId))
    reader.problems.push(`DISCORD_GUILD_ID must be a server id (digits), got "${guildId}"`);
  return { token: token ?? "", apiUrl, ...(guildId !== undefined && { guildId }) };
}

function readQueue(reader: EnvReader): QueueSettings {
  const redisUrl = reader.string("REDIS_URL", "redis://127.0.0.1:6379");
  if (!/^rediss?:\/\//.test(redisUrl))
    reader.problems.push(`REDIS_URL must start with redis:// or rediss://, got "${redisUrl}"`);
  return {
    redisUrl,
    prefix: reader.string("QUEUE_PREFIX", "{belowzero}"),
    maxPerGuild: reader.integer("QUEUE_MAX_PER_GUILD", 5, 1, 10_000),
    maxTotal: reader.integer("QUEUE_MAX_TOTAL", 50, 1, 100_000),
    cooldownMs: reader.number("COOLDOWN_SECONDS", 15, 0, 86_400) * 1000,
  };
}

export function loadBotConfig(env: Env = process.env): BotConfig {
  const reader = new EnvReader(env);
  const engine = readEngineOptions(reader, env);
  const config: BotConfig = {
    discord: readDiscord(reader),
    queue: readQueue(reader),
    defaults: {
      temperature: reader.number("DEFAULT_TEMPERATURE", -0.001, -1e6, 1e6),
      maxTokens: reader.integer("DEFAULT_MAX_TOKENS", 64, 1, 8192),
    },
    limits: { ...DEFAULT_LIMITS, ...engine.limits },
  };
  // The defaults must pass the same checks as what users type, or every /weird would fail.
  for (const [name, check] of [
    ["DEFAULT_TEMPERATURE", () => checkTemperature(config.defaults.temperature, config.limits)],
    ["DEFAULT_MAX_TOKENS", () => checkMaxTokens(config.defaults.maxTokens, config.limits)],
  ] as const) {
    try {
      check();
    } catch (error) {
      reader.problems.push(`${name}: ${(error as Error).message}`);
    }
  }
  reader.check();
  return config;
}

export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const reader = new EnvReader(env);
  const { model, ...engine } = readEngineOptions(reader, env);
  if (!model) reader.problems.push("MODEL is required (a GGUF path or a model URI such as hf:user/repo/file.gguf)");
  const config: WorkerConfig = {
    discord: readDiscord(reader),
    queue: readQueue(reader),
    worker: {
      lockDurationMs: reader.integer("WORKER_LOCK_SECONDS", 60, 1, 3600) * 1000,
      stalledIntervalMs: reader.integer("WORKER_STALLED_CHECK_SECONDS", 30, 1, 3600) * 1000,
      editIntervalMs: reader.integer("STREAM_EDIT_INTERVAL_MS", 1000, 200, 60_000),
    },
    engine: { ...engine, model: model ?? "" },
  };
  reader.check();
  return config;
}
