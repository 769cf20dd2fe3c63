// Environment → one validated, typed config for the bot and the worker. Every setting is read
// through the table in environment.ts; every problem is collected and reported at once, so a
// misconfigured deployment is fixed in one round.
import { homedir } from "node:os";
import { join } from "node:path";
import type { EngineOptions, GpuSetting } from "./engine/engine.js";
import { DEFAULT_LIMITS } from "./engine/defaults.js";
import { checkMaxTokens, checkTemperature, type RequestLimits } from "./engine/request.js";
import { EnvReader, type Env } from "./environment.js";
import type { LogLevel } from "./observability/log.js";
import type { ResultLayout } from "./store/settings.js";
import { clusterUrl, isClusterUrl } from "./store/redisUrl.js";
import { MODEL_ID_PATTERN } from "./store/models.js";

export { ConfigError, deprecationWarnings, EnvReader } from "./environment.js";

export function defaultCacheDir(env: Env = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "belowzero");
}

/** Engine settings shared by the worker and the CLI; the model itself may come from elsewhere. */
export function readEngineOptions(
  reader: EnvReader,
  env: Env = process.env,
): Omit<EngineOptions, "model"> & { model?: string } {
  const gpu = reader.get("LLAMA_GPU");
  const threads = reader.get("LLAMA_THREADS");
  return {
    model: reader.get("MODEL"),
    modelsDir: reader.get("MODELS_DIR"),
    cacheDir: reader.get("BELOWZERO_CACHE_DIR") ?? defaultCacheDir(env),
    gpu: (gpu === "cpu" ? false : gpu) as GpuSetting,
    gpuLayers: reader.get("LLAMA_GPU_LAYERS"),
    ...(threads !== undefined && { threads }),
    contextSize: reader.get("LLAMA_CONTEXT_SIZE"),
    concurrency: reader.get("WORKER_CONCURRENCY"),
    limits: readRequestLimits(reader),
    nativeSteps: reader.get("NATIVE_STEPS"),
    negation: {
      route: reader.get("NEGATION_ROUTE"),
      copyMaxBytes: reader.get("NEGATION_COPY_MAX_MB") * 1024 * 1024,
    },
    tokenPolicy: {
      allowBytes: reader.get("ALLOW_BYTE_TOKENS"),
      allowEndBelowZero: reader.get("ALLOW_END_BELOW_ZERO"),
      allowAll: reader.get("ALLOW_ALL_TOKENS"),
    },
  };
}

/** The operator's caps on what a request may ask for (the bot checks them, the engine enforces them). */
function readRequestLimits(reader: EnvReader): RequestLimits {
  return {
    maxTokensCap: reader.get("MAX_TOKENS_CAP"),
    maxAbsTemperature: reader.get("MAX_ABS_TEMPERATURE"),
    maxPromptCharacters: reader.get("MAX_PROMPT_CHARS"),
  };
}

/** What /weird and the CLI use when an option is left out. */
export function readRequestDefaults(reader: EnvReader): RequestDefaults {
  return { temperature: reader.get("DEFAULT_TEMPERATURE"), maxTokens: reader.get("DEFAULT_MAX_TOKENS") };
}

export interface DiscordSettings {
  token: string;
  /** REST base, so the system runs against API proxies, Discord-compatible servers and tests. */
  apiUrl: string;
  /** For guild-scoped command deployment; global when absent. */
  guildId?: string;
  /** For deploy-commands, when it cannot be read from the token. */
  applicationId?: string;
}

export interface QueueSettings {
  redisUrl: string;
  /** REDIS_PREFIX: starts every Redis key; its {hash tag} keeps them all in one Redis Cluster slot. */
  prefix: string;
  maxPerGuild: number;
  maxTotal: number;
  cooldownMs: number;
  /** Jobs for a model with no live worker are answered and dropped after this long. */
  modelWaitMs: number;
  /**
   * Where the interaction's token is the only way to answer, its result must arrive this long
   * after the command (the token lives 15 minutes): the job's deadline.
   */
  replyWindowMs: number;
}

export interface RecordSettings {
  /** Outputs and their votes are kept this long (leaderboards and stats drop them then); hall-of-fame entries for good. */
  retentionDays: number;
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
  /** MODEL_ID: the model's id and its own queue; absent: the GGUF's name, on the shared queue. */
  modelId?: string;
}

export interface BotConfig {
  discord: DiscordSettings;
  queue: QueueSettings;
  records: RecordSettings;
  defaults: RequestDefaults;
  limits: RequestLimits;
  /** ALLOW_BYTE_TOKENS: the token policy of servers that have not set their own (the job carries it). */
  allowBytes: boolean;
  /** RESULT_LAYOUT: cards or plain messages (the job carries it to the worker). */
  layout: ResultLayout;
}
/** A model a worker serves: its GGUF path or URI, and its id (MODEL_ID) when it has one. */
export interface ServedModel {
  model: string;
  id?: string;
}

export interface WorkerConfig {
  discord: DiscordSettings;
  queue: QueueSettings;
  records: RecordSettings;
  /** The worker's settings; each model's id (MODEL_ID) is in `models`. */
  worker: Omit<WorkerSettings, "modelId">;
  /** The llama.cpp settings every model gets. */
  engine: Omit<EngineOptions, "model">;
  /** What it serves: MODEL (with MODEL_ID), or each entry of MODELS. */
  models: ServedModel[];
  /** MODELS_AT_ONCE, when set: how many of the models generate at the same time. */
  modelsAtOnce?: number;
  /** What the worker logs as warnings at start: settings it reads but does not use. */
  warnings: string[];
}

/**
 * MODELS: `id=path` entries separated by commas, every id given (each model has its own queue)
 * and unique. Returns the models, or what is wrong.
 */
export function parseServedModels(raw: string): ServedModel[] | string {
  const models: ServedModel[] = [];
  for (const entry of raw.split(",").map(entry => entry.trim())) {
    // An id cannot hold "=", so the first one ends it (a URL's query may hold more).
    const at = entry.indexOf("=");
    const id = entry.slice(0, Math.max(0, at)).trim();
    const model = entry.slice(at + 1).trim();
    if (at < 0 || model === "") return `each entry must be id=path (as in tiny=models/tiny.gguf), got "${entry}"`;
    if (!MODEL_ID_PATTERN.test(id))
      return `"${id}" is not a model id (1 to 64 letters, digits, dots, dashes or underscores)`;
    if (models.some(other => other.id === id)) return `the id "${id}" is given twice`;
    if (models.some(other => other.model === model)) return `${model} is given twice`;
    models.push({ id, model });
  }
  return models;
}

function readServedModels(reader: EnvReader, model: string | undefined, warnings: string[]): ServedModel[] {
  const list = reader.get("MODELS");
  const modelId = reader.get("MODEL_ID");
  if (list === undefined) {
    if (!model) reader.problems.push("MODEL is required (a GGUF path or a model URI such as hf:user/repo/file.gguf)");
    return [{ model: model ?? "", ...(modelId !== undefined && { id: modelId }) }];
  }
  // An id beside the list is a mistake; a MODEL is not always one (docker-compose.yml sets it).
  if (modelId !== undefined)
    reader.problems.push("MODELS names every model with its id: leave MODEL_ID unset beside it");
  if (model !== undefined) warnings.push(`MODEL (${model}) is not used: MODELS names the models this worker serves`);
  const models = parseServedModels(list);
  if (typeof models === "string") {
    reader.problems.push(`MODELS: ${models}`);
    return [];
  }
  return models;
}

function readDiscord(reader: EnvReader): DiscordSettings {
  const token = reader.get("DISCORD_TOKEN");
  if (!token) reader.problems.push("DISCORD_TOKEN is required (the bot token from the Discord developer portal)");
  const apiUrl = reader.get("DISCORD_API_URL").replace(/\/+$/, "");
  const guildId = reader.get("DISCORD_GUILD_ID");
  const applicationId = reader.get("DISCORD_APPLICATION_ID");
  return {
    token: token ?? "",
    apiUrl,
    ...(guildId !== undefined && { guildId }),
    ...(applicationId !== undefined && { applicationId }),
  };
}

function readQueue(reader: EnvReader): QueueSettings {
  // A Redis Cluster: REDIS_CLUSTER_NODES, or REDIS_URL=redis+cluster://host:port,host:port.
  const nodes = reader.get("REDIS_CLUSTER_NODES");
  const redisUrl = nodes ? clusterUrl(nodes) : reader.get("REDIS_URL");
  const prefix = reader.get("REDIS_PREFIX");
  if (isClusterUrl(redisUrl) && !/\{[^}]+\}/.test(prefix))
    reader.problems.push(`REDIS_PREFIX must contain a {hash tag} on a Redis Cluster, got "${prefix}"`);
  return {
    redisUrl,
    prefix,
    maxPerGuild: reader.get("QUEUE_MAX_PER_GUILD"),
    maxTotal: reader.get("QUEUE_MAX_TOTAL"),
    cooldownMs: reader.get("COOLDOWN_SECONDS") * 1000,
    modelWaitMs: reader.get("MODEL_WAIT_SECONDS") * 1000,
    replyWindowMs: reader.get("REPLY_WINDOW_SECONDS") * 1000,
  };
}

function readRecords(reader: EnvReader): RecordSettings {
  return { retentionDays: reader.get("OUTPUT_RETENTION_DAYS") };
}

export function loadBotConfig(env: Env = process.env): BotConfig {
  const reader = new EnvReader(env);
  // Only what the bot uses: the model and llama.cpp settings (LLAMA_*) are the worker's.
  const config: BotConfig = {
    discord: readDiscord(reader),
    queue: readQueue(reader),
    records: readRecords(reader),
    defaults: readRequestDefaults(reader),
    allowBytes: reader.get("ALLOW_BYTE_TOKENS"),
    layout: reader.get("RESULT_LAYOUT") as ResultLayout,
    limits: { ...DEFAULT_LIMITS, ...readRequestLimits(reader) },
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
  const warnings: string[] = [];
  const models = readServedModels(reader, model, warnings);
  const modelsAtOnce = reader.get("MODELS_AT_ONCE");
  if (modelsAtOnce !== undefined && models.length < 2)
    warnings.push("MODELS_AT_ONCE is not used: this worker serves one model (MODELS names several)");
  const config: WorkerConfig = {
    discord: readDiscord(reader),
    queue: readQueue(reader),
    records: readRecords(reader),
    worker: {
      lockDurationMs: reader.get("WORKER_LOCK_SECONDS") * 1000,
      stalledIntervalMs: reader.get("WORKER_STALLED_CHECK_SECONDS") * 1000,
      editIntervalMs: reader.get("STREAM_EDIT_INTERVAL_MS"),
    },
    engine,
    models,
    ...(modelsAtOnce !== undefined && { modelsAtOnce }),
    warnings,
  };
  reader.check();
  return config;
}

export interface OperationsSettings {
  /** Port of /metrics and /healthz; 0 serves nothing (so `npm start`'s two processes never clash). */
  metricsPort: number;
  logLevel: LogLevel;
}

/** How the bot and worker processes are run and watched; read by each entry point. */
export function loadOperationsSettings(env: Env = process.env): OperationsSettings {
  const reader = new EnvReader(env);
  const settings: OperationsSettings = {
    metricsPort: reader.get("METRICS_PORT"),
    logLevel: reader.get("LOG_LEVEL") as LogLevel,
  };
  reader.check();
  return settings;
}

/**
 * GATEWAY_SHARDS: how many shards the ShardingManager (bot/shards.ts) starts, Discord's
 * recommendation ("auto") or a number. Read there alone: each shard's process is told its own
 * share by the manager (bot.ts, assignedShards).
 */
export function loadGatewayShards(env: Env = process.env): "auto" | number {
  const reader = new EnvReader(env);
  const shards = reader.get("GATEWAY_SHARDS");
  reader.check();
  return shards;
}
