// The real bot and worker wired to real Redis (own key prefix) and the fake Discord. Raw
// interaction payloads go through discord.js's own InteractionCreate action, so handlers
// receive real discord.js interaction objects.
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ChannelType,
  MessageType,
  ComponentType,
  InteractionType,
  PermissionFlagsBits,
  SnowflakeUtil,
  type Client,
} from "discord.js";
import { createBot } from "../../src/bot/bot.js";
import type { BotContext } from "../../src/commands/context.js";
import type { BotConfig, WorkerSettings } from "../../src/config.js";
import { DEFAULT_LIMITS } from "../../src/engine/defaults.js";
import type { Engine } from "../../src/engine/engine.js";
import { Throttle } from "../../src/store/throttle.js";
import { OutputStore } from "../../src/store/outputs.js";
import { QUEUE_NAME } from "../../src/store/queue.js";
import { producerConnection, workerConnection } from "../../src/store/redis.js";
import { createRest } from "../../src/worker/reply.js";
import { createWorker } from "../../src/worker/worker.js";

export const APPLICATION_ID = "900000000000000001";
export const GUILD_ID = "900000000000000002";
export const CHANNEL_ID = "900000000000000003";
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const EVERYTHING = (
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.UseApplicationCommands
).toString();

export function botConfig(
  apiUrl: string,
  prefix: string,
  overrides: Partial<BotConfig["queue"]> = {},
  redisUrl = REDIS_URL,
): BotConfig {
  return {
    discord: { token: "test-token", apiUrl },
    queue: { redisUrl, prefix, maxPerGuild: 5, maxTotal: 50, cooldownMs: 0, ...overrides },
    defaults: { temperature: -0.001, maxTokens: 32 },
    limits: DEFAULT_LIMITS,
  };
}

export interface TestBot {
  client: Client;
  ctx: BotContext;
  redis: Redis;
  /** Feeds a raw interaction payload to discord.js, as the gateway would. */
  inject: (raw: Record<string, unknown>) => void;
  close: () => Promise<void>;
}

/** Starts the bot; waits for Redis unless told not to (to test Redis being down). */
export async function startBot(config: BotConfig, waitForRedis = true): Promise<TestBot> {
  const redis = producerConnection(config.queue.redisUrl);
  const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: config.queue.prefix });
  queue.on("error", () => undefined);
  const logs: string[] = [];
  if (waitForRedis && redis.status !== "ready") await new Promise(resolve => redis.once("ready", resolve));
  const ctx: BotContext = {
    config,
    queue,
    throttle: new Throttle(redis, config.queue.prefix),
    outputs: new OutputStore(redis, config.queue.prefix),
    redisReady: () => redis.status === "ready",
    log: line => {
      logs.push(line);
      if (process.env.BZ_DEBUG) console.error(line);
    },
  };
  const client = createBot(ctx);
  client.token = config.discord.token;
  client.rest.setToken(config.discord.token);
  const actions = (client as unknown as { actions: { InteractionCreate: { handle: (data: unknown) => void } } })
    .actions;
  return {
    client,
    ctx,
    redis,
    inject: raw => actions.InteractionCreate.handle(raw),
    close: async () => {
      await client.destroy();
      await queue.close().catch(() => undefined);
      redis.disconnect();
    },
  };
}

export function startWorker(engine: Engine, apiUrl: string, prefix: string, settings: Partial<WorkerSettings> = {}) {
  const connection = workerConnection(REDIS_URL);
  const logs: string[] = [];
  const { worker, shutdown } = createWorker({
    engine,
    rest: createRest("test-token", apiUrl),
    connection,
    prefix,
    concurrency: 1,
    settings: { lockDurationMs: 30_000, stalledIntervalMs: 30_000, editIntervalMs: 20, ...settings },
    outputs: new OutputStore(connection, prefix),
    throttle: new Throttle(connection, prefix),
    log: line => logs.push(line),
  });
  return {
    worker,
    logs,
    close: async () => {
      await shutdown();
      connection.disconnect();
    },
  };
}

/** A fresh key prefix, so tests never see each other's (or production's) keys. */
export function testPrefix(): string {
  return `{bztest-${randomUUID().slice(0, 8)}}`;
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

let counter = 0;
function user(id: string) {
  return { id, username: `user${id.slice(-3)}`, discriminator: "0", avatar: null, global_name: null };
}

interface InteractionOptions {
  userId?: string;
  at?: number;
  permissions?: string;
}

function base(type: InteractionType, options: InteractionOptions) {
  const userId = options.userId ?? "800000000000000001";
  const token = `token-${++counter}-${randomUUID()}`;
  return {
    id: SnowflakeUtil.generate({ timestamp: options.at ?? Date.now() }).toString(),
    application_id: APPLICATION_ID,
    type,
    token,
    version: 1,
    guild_id: GUILD_ID,
    channel_id: CHANNEL_ID,
    channel: { id: CHANNEL_ID, type: ChannelType.GuildText, guild_id: GUILD_ID },
    member: {
      user: user(userId),
      roles: [],
      permissions: options.permissions ?? EVERYTHING,
      joined_at: new Date(0).toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
    },
    app_permissions: EVERYTHING,
    locale: "en-US",
    guild_locale: "en-US",
    entitlements: [],
    authorizing_integration_owners: {},
    context: 0,
  };
}

export function slashWeird(
  options: InteractionOptions & { prompt: string; temp?: number; maxTokens?: number; seed?: number },
) {
  const values = [
    { name: "prompt", type: ApplicationCommandOptionType.String, value: options.prompt },
    options.temp !== undefined && { name: "temp", type: ApplicationCommandOptionType.Number, value: options.temp },
    options.maxTokens !== undefined && {
      name: "max_tokens",
      type: ApplicationCommandOptionType.Integer,
      value: options.maxTokens,
    },
    options.seed !== undefined && { name: "seed", type: ApplicationCommandOptionType.Integer, value: options.seed },
  ].filter(Boolean);
  return {
    ...base(InteractionType.ApplicationCommand, options),
    data: { id: "700000000000000001", name: "weird", type: ApplicationCommandType.ChatInput, options: values },
  };
}

export function slashCommand(name: string, options: InteractionOptions = {}) {
  return {
    ...base(InteractionType.ApplicationCommand, options),
    data: { id: "700000000000000002", name, type: ApplicationCommandType.ChatInput, options: [] },
  };
}

export function buttonPress(customId: string, options: InteractionOptions = {}) {
  return {
    ...base(InteractionType.MessageComponent, options),
    message: {
      id: "600000000000000001",
      channel_id: CHANNEL_ID,
      author: { ...user(APPLICATION_ID), bot: true },
      content: "result",
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: MessageType.Default,
      flags: 0,
      components: [],
    },
    data: { custom_id: customId, component_type: ComponentType.Button },
  };
}
