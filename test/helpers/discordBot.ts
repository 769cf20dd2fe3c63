// The real bot and worker wired to real Redis (own key prefix) and the fake Discord. Raw
// interaction payloads go through discord.js's own InteractionCreate action, so handlers
// receive real discord.js interaction objects.
import { randomUUID } from "node:crypto";
import { Cluster, type Redis } from "ioredis";
import type { Job } from "bullmq";
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ChannelType,
  MessageType,
  ComponentType,
  InteractionContextType,
  InteractionType,
  PermissionFlagsBits,
  SnowflakeUtil,
  type APIApplicationCommandOption,
  type Client,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from "discord.js";
import { createBot } from "../../src/bot/bot.js";
import type { BotContext } from "../../src/interactions/context.js";
import type { BotConfig, WorkerSettings } from "../../src/config.js";
import { DEFAULT_LIMITS } from "../../src/engine/defaults.js";
import type { Engine } from "../../src/engine/engine.js";
import type { Log } from "../../src/observability/log.js";
import { Throttle } from "../../src/store/throttle.js";
import { DAY_MS, OutputStore } from "../../src/store/outputs.js";
import { CommunityStore } from "../../src/store/community.js";
import { Refreshes } from "../../src/interactions/refreshes.js";
import { UnansweredClicks } from "../../src/game/votes.js";
import { ModelRegistry } from "../../src/store/models.js";
import { ComparisonStore } from "../../src/store/comparisons.js";
import { Queues } from "../../src/store/queues.js";
import { watchOrphanedJobs } from "../../src/interactions/orphans.js";
import { producerConnection, workerConnection } from "../../src/store/redis.js";
import { operatorSettings, SettingsStore } from "../../src/store/settings.js";
import { createRest } from "../../src/worker/reply.js";
import { createWorker } from "../../src/worker/worker.js";

export const APPLICATION_ID = "900000000000000001";
export const GUILD_ID = "900000000000000002";
export const CHANNEL_ID = "900000000000000003";
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const EVERYTHING = (
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.SendMessagesInThreads |
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
    queue: {
      redisUrl,
      prefix,
      maxPerGuild: 5,
      maxTotal: 50,
      cooldownMs: 0,
      modelWaitMs: 120_000,
      replyWindowMs: 870_000,
      ...overrides,
    },
    records: { retentionDays: 90 },
    defaults: { temperature: -0.001, maxTokens: 32 },
    allowBytes: false,
    // The flow tests written for plain messages read their content; cards have tests of their own.
    layout: "plain",
    limits: DEFAULT_LIMITS,
  };
}

export interface TestBot {
  client: Client;
  ctx: BotContext;
  redis: Redis;
  /** What the bot logged. */
  logs: string[];
  /** Feeds a raw interaction payload to discord.js, as the gateway would. */
  inject: (raw: Record<string, unknown>) => void;
  /** Feeds a raw gateway packet (e.g. GUILD_CREATE) to discord.js's own handlers, filling its cache. */
  dispatch: (event: string, data: Record<string, unknown>) => void;
  close: () => Promise<void>;
}

/** Starts the bot; waits for Redis unless told not to (to test Redis being down). */
export async function startBot(config: BotConfig, waitForRedis = true): Promise<TestBot> {
  const redis = producerConnection(config.queue.redisUrl);
  const queues = new Queues(redis, config.queue.prefix);
  const queue = queues.shared;
  const logs: string[] = [];
  if (waitForRedis && redis.status !== "ready") await new Promise(resolve => redis.once("ready", resolve));
  const outputs = new OutputStore(redis, config.queue.prefix, config.records.retentionDays * DAY_MS);
  const log = (line: string) => {
    logs.push(line);
    if (process.env.BZ_DEBUG) console.error(line);
  };
  const ctx: BotContext = {
    config,
    queue,
    queues,
    models: new ModelRegistry(redis, config.queue.prefix),
    comparisons: new ComparisonStore(redis, config.queue.prefix),
    throttle: new Throttle(redis, config.queue.prefix),
    outputs,
    community: new CommunityStore(redis, config.queue.prefix, outputs),
    settings: new SettingsStore(redis, config.queue.prefix, operatorSettings(config), log),
    refreshes: new Refreshes((key, error) => log(`${key}: ${(error as Error).message}`)),
    unansweredClicks: new UnansweredClicks(),
    redisReady: () => redis.status === "ready",
    log,
  };
  const client = createBot(ctx);
  client.token = config.discord.token;
  client.rest.setToken(config.discord.token);
  const stopOrphans = watchOrphanedJobs(ctx, client.rest);
  const actions = (client as unknown as { actions: { InteractionCreate: { handle: (data: unknown) => void } } })
    .actions;
  const ws = client.ws as unknown as { handlePacket: (packet: unknown, shard: unknown) => void };
  return {
    client,
    ctx,
    redis,
    logs,
    inject: raw => actions.InteractionCreate.handle(raw),
    // One shard, already ready (READY's handler asks the shard to check).
    dispatch: (event, data) => ws.handlePacket({ t: event, d: data }, { id: 0, checkReady: () => undefined }),
    close: async () => {
      stopOrphans();
      await client.destroy();
      await queues.close();
      redis.disconnect();
    },
  };
}

export function startWorker(
  engine: Engine,
  apiUrl: string,
  prefix: string,
  settings: Partial<WorkerSettings> = {},
  /** Also receives every line (e.g. a real logger). */
  log?: Log,
) {
  const connection = workerConnection(REDIS_URL);
  const logs: string[] = [];
  const { worker, shutdown, heartbeat } = createWorker({
    engine,
    rest: createRest("test-token", apiUrl),
    connection,
    prefix,
    concurrency: 1,
    settings: { lockDurationMs: 30_000, stalledIntervalMs: 30_000, editIntervalMs: 20, ...settings },
    outputs: new OutputStore(connection, prefix, 90 * DAY_MS),
    throttle: new Throttle(connection, prefix),
    log: (line, fields) => {
      logs.push(line);
      log?.(line, fields);
    },
  });
  return {
    worker,
    logs,
    heartbeat,
    close: async () => {
      await shutdown();
      connection.disconnect();
    },
  };
}

/**
 * The bot's first job waiting in its queue. The bot says "Queued" before it adds the job (so a
 * fast worker's result is never overwritten), so a test that saw that reply polls for the job.
 */
export async function firstWaitingJob(bot: TestBot, timeoutMs = 5_000): Promise<Job> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [job] = await bot.ctx.queue.getJobs(["waiting", "prioritized"]);
    if (job) return job;
    if (Date.now() > until) throw new Error(`no job waited in the queue within ${timeoutMs} ms`);
    await new Promise(resolve => setTimeout(resolve, 20));
  }
}

/** A fresh key prefix, so tests never see each other's (or production's) keys. */
export function testPrefix(): string {
  return `{bztest-${randomUUID().slice(0, 8)}}`;
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = workerConnection(REDIS_URL);
  // On a Redis Cluster the prefix's hash tag puts every key on one node; KEYS asks each.
  const cluster: unknown = redis;
  const nodes = cluster instanceof Cluster ? cluster.nodes("master") : [redis];
  for (const node of nodes) {
    const keys = await node.keys(`${prefix}*`);
    if (keys.length > 0) await node.del(...keys);
  }
  redis.disconnect();
}

/**
 * Holds every write to Redis for `ms` (CLIENT PAUSE), as a Redis busy with a slow command
 * would. `ended` resolves once the pause is over and the held writes have had time to run.
 */
export async function pauseRedisWrites(ms: number): Promise<{ ended: Promise<void> }> {
  const redis = workerConnection(REDIS_URL);
  // A cluster knows its nodes once it is ready.
  if (redis.status !== "ready") await new Promise(resolve => redis.once("ready", resolve));
  const cluster: unknown = redis;
  const nodes = cluster instanceof Cluster ? cluster.nodes("master") : [redis];
  for (const node of nodes) await node.call("CLIENT", "PAUSE", String(ms), "WRITE");
  const ended = new Promise<void>(resolve => setTimeout(resolve, ms + 500));
  redis.disconnect();
  return { ended };
}

let counter = 0;
function user(id: string, bot = false) {
  return { id, username: `user${id.slice(-3)}`, discriminator: "0", avatar: null, global_name: null, bot };
}

interface InteractionOptions {
  userId?: string;
  at?: number;
  permissions?: string;
  /** The channel the interaction comes from (default CHANNEL_ID). */
  channelId?: string;
  /** That channel is a thread under this parent; private unless said otherwise. */
  thread?: { parentId: string; type?: ChannelType.PrivateThread | ChannelType.PublicThread };
  /** The member is a bot account. */
  bot?: boolean;
  /** For buttons: the message the button is on. */
  messageId?: string;
}

function base(type: InteractionType, options: InteractionOptions) {
  const userId = options.userId ?? "800000000000000001";
  const token = `token-${++counter}-${randomUUID()}`;
  const channelId = options.channelId ?? CHANNEL_ID;
  return {
    id: SnowflakeUtil.generate({ timestamp: options.at ?? Date.now() }).toString(),
    application_id: APPLICATION_ID,
    type,
    token,
    version: 1,
    guild_id: GUILD_ID,
    channel_id: channelId,
    // Discord sends the channel with every interaction (a thread with its parent).
    channel: options.thread
      ? {
          id: channelId,
          type: options.thread.type ?? ChannelType.PrivateThread,
          guild_id: GUILD_ID,
          parent_id: options.thread.parentId,
          name: "a thread",
          thread_metadata: {
            archived: false,
            auto_archive_duration: 60,
            archive_timestamp: new Date(0).toISOString(),
            locked: false,
          },
        }
      : { id: channelId, type: ChannelType.GuildText, guild_id: GUILD_ID },
    member: {
      user: user(userId, options.bot),
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
  options: InteractionOptions & {
    prompt: string;
    temp?: number;
    schedule?: string;
    vocab?: string;
    maxTokens?: number;
    seed?: number;
    model?: string;
  },
) {
  const values = [
    { name: "prompt", type: ApplicationCommandOptionType.String, value: options.prompt },
    options.temp !== undefined && { name: "temp", type: ApplicationCommandOptionType.Number, value: options.temp },
    options.schedule !== undefined && {
      name: "schedule",
      type: ApplicationCommandOptionType.String,
      value: options.schedule,
    },
    options.vocab !== undefined && { name: "vocab", type: ApplicationCommandOptionType.String, value: options.vocab },
    options.maxTokens !== undefined && {
      name: "max_tokens",
      type: ApplicationCommandOptionType.Integer,
      value: options.maxTokens,
    },
    options.seed !== undefined && { name: "seed", type: ApplicationCommandOptionType.Integer, value: options.seed },
    options.model !== undefined && { name: "model", type: ApplicationCommandOptionType.String, value: options.model },
  ].filter(Boolean);
  return {
    ...base(InteractionType.ApplicationCommand, options),
    data: { id: "700000000000000001", name: "weird", type: ApplicationCommandType.ChatInput, options: values },
  };
}

export interface CommandOption {
  name: string;
  type: ApplicationCommandOptionType;
  value: string | number | boolean;
}

/** A slash command; user options name their users in `users` (Discord sends them resolved). */
export function slashCommand(
  name: string,
  options: InteractionOptions = {},
  values: CommandOption[] = [],
  users: string[] = [],
) {
  return {
    ...base(InteractionType.ApplicationCommand, options),
    data: {
      id: "700000000000000002",
      name,
      type: ApplicationCommandType.ChatInput,
      options: values,
      ...(users.length > 0 && { resolved: { users: Object.fromEntries(users.map(id => [id, user(id)])) } }),
    },
  };
}

/** /weird-compare with these options (model1…, prompt, temp, temp2, max_tokens, seed). */
export function slashCompare(options: Record<string, string | number>, userId?: string) {
  const types: Record<string, ApplicationCommandOptionType> = {
    prompt: ApplicationCommandOptionType.String,
    temp: ApplicationCommandOptionType.Number,
    temp2: ApplicationCommandOptionType.Number,
    max_tokens: ApplicationCommandOptionType.Integer,
    seed: ApplicationCommandOptionType.Integer,
  };
  const values: CommandOption[] = Object.entries(options).map(([name, value]) => ({
    name,
    type: types[name] ?? ApplicationCommandOptionType.String,
    value,
  }));
  return slashCommand("weird-compare", userId ? { userId } : {}, values);
}

/** An autocomplete request: the member is typing `typed` into the command's option `option`. */
export function autocomplete(command: string, option: string, typed: string, options: InteractionOptions = {}) {
  return {
    ...base(InteractionType.ApplicationCommandAutocomplete, options),
    data: {
      id: "700000000000000003",
      name: command,
      type: ApplicationCommandType.ChatInput,
      options: [{ name: option, type: ApplicationCommandOptionType.String, value: typed, focused: true }],
    },
  };
}

export function buttonPress(customId: string, options: InteractionOptions = {}) {
  return {
    ...base(InteractionType.MessageComponent, options),
    message: messagePayload({
      id: options.messageId ?? "600000000000000001",
      channelId: CHANNEL_ID,
      author: { ...user(APPLICATION_ID), bot: true },
      content: "result",
    }),
    data: { custom_id: customId, component_type: ComponentType.Button },
  };
}

/** A message as Discord sends it inside an interaction (a button's, or a message command's target). */
function messagePayload(message: {
  id: string;
  channelId: string;
  author: ReturnType<typeof user>;
  content: string;
  mentions?: Array<ReturnType<typeof user>>;
}) {
  return {
    id: message.id,
    channel_id: message.channelId,
    author: message.author,
    content: message.content,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: message.mentions ?? [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: MessageType.Default,
    flags: 0,
    components: [],
  };
}

/** A message command's target: its text and mentions. */
export interface TargetMessage {
  id?: string;
  content: string;
  /** Users the message mentions, resolved by Discord: [id, username]. */
  mentions?: Array<[string, string]>;
  authorId?: string;
  channelId?: string;
}

/** A message command ("Apps" menu on a message) on `target`. */
export function messageCommand(name: string, target: TargetMessage, options: InteractionOptions = {}) {
  const id = target.id ?? "600000000000000042";
  const interaction = base(InteractionType.ApplicationCommand, options);
  const message = messagePayload({
    id,
    channelId: target.channelId ?? interaction.channel_id,
    author: user(target.authorId ?? "800000000000000077"),
    content: target.content,
    mentions: (target.mentions ?? []).map(([userId, username]) => ({ ...user(userId), username })),
  });
  return {
    ...interaction,
    data: {
      id: "700000000000000003",
      name,
      type: ApplicationCommandType.Message,
      target_id: id,
      resolved: { messages: { [id]: message } },
    },
  };
}

/**
 * The interaction as it comes from a member who installed belowzero on their own account,
 * in a server that never added it: Discord names only the user as the installing owner.
 */
export function userInstalled<T extends ReturnType<typeof base>>(raw: T) {
  return { ...raw, authorizing_integration_owners: { "1": raw.member.user.id } };
}

/** The same interaction sent in a direct message with the bot: no server, no member. */
export function inDirectMessages<T extends ReturnType<typeof base>>(raw: T) {
  const { member, ...rest } = raw;
  const channelId = "900000000000000077";
  return {
    ...rest,
    guild_id: undefined,
    channel_id: channelId,
    channel: { id: channelId, type: ChannelType.DM },
    user: member.user,
    context: InteractionContextType.BotDM,
  };
}

/** The same interaction in a group DM: belowzero is no member there, only the member's own install. */
export function inGroupDm<T extends ReturnType<typeof base>>(raw: T) {
  const { member, ...rest } = raw;
  const channelId = "900000000000000088";
  return {
    ...(rest as Omit<T, "member" | "guild_id" | "authorizing_integration_owners">),
    guild_id: undefined,
    channel_id: channelId,
    channel: { id: channelId, type: ChannelType.GroupDM, recipients: [member.user] },
    user: member.user,
    authorizing_integration_owners: { "1": member.user.id },
    context: InteractionContextType.PrivateChannel,
  };
}

/** A channel picked in a channel option, as Discord resolves it (no guild id; the bot's permissions there). */
export interface PickedChannel {
  id: string;
  name: string;
  type: ChannelType;
  /** The bot's permissions in that channel (app_permissions); left out as older payloads do. */
  appPermissions?: bigint;
}

type OptionValue = string | number | boolean | PickedChannel;

/**
 * A slash command with a subcommand, its options typed as the command's own definition types
 * them (so a test cannot send an integer where the definition says number).
 */
export function slashSubcommand(
  command: RESTPostAPIChatInputApplicationCommandsJSONBody,
  subcommand: string,
  values: Record<string, OptionValue> = {},
  options: InteractionOptions = {},
) {
  const definition = command.options?.find(o => o.name === subcommand) as
    { options?: APIApplicationCommandOption[] } | undefined;
  if (!definition) throw new Error(`/${command.name} has no subcommand ${subcommand}`);
  const channels: Record<string, unknown> = {};
  const typed = Object.entries(values).map(([name, value]) => {
    const type = definition.options?.find(o => o.name === name)?.type;
    if (type === undefined) throw new Error(`/${command.name} ${subcommand} has no option ${name}`);
    if (typeof value !== "object") return { name, type, value };
    channels[value.id] = {
      id: value.id,
      name: value.name,
      type: value.type,
      permissions: EVERYTHING,
      ...(value.appPermissions !== undefined && { app_permissions: value.appPermissions.toString() }),
    };
    return { name, type, value: value.id };
  });
  return {
    ...base(InteractionType.ApplicationCommand, options),
    data: {
      id: "700000000000000003",
      name: command.name,
      type: 1,
      options: [{ name: subcommand, type: ApplicationCommandOptionType.Subcommand, options: typed }],
      ...(Object.keys(channels).length > 0 && { resolved: { channels } }),
    },
  };
}

/** The gateway's READY for the test application's bot user, in no servers yet. */
export function ready() {
  return {
    v: 10,
    user: { ...user(APPLICATION_ID), bot: true },
    guilds: [],
    application: { id: APPLICATION_ID, flags: 0 },
  };
}

interface GuildChannel {
  id: string;
  name: string;
  type: ChannelType;
  permission_overwrites?: Array<{ id: string; type: 0 | 1; allow: string; deny: string }>;
}

/** A server as the gateway's GUILD_CREATE describes it: everyone may do everything, the bot is a member. */
export function guildCreate(
  guildId: string,
  channels: GuildChannel[],
  threads: Array<{ id: string; name: string; parent_id: string }> = [],
) {
  return {
    id: guildId,
    name: `server ${guildId.slice(-3)}`,
    owner_id: "800000000000000999",
    unavailable: false,
    member_count: 1,
    roles: [
      {
        id: guildId,
        name: "@everyone",
        permissions: EVERYTHING,
        position: 0,
        color: 0,
        hoist: false,
        managed: false,
        mentionable: false,
        flags: 0,
      },
    ],
    channels: channels.map((c, position) => ({ permission_overwrites: [], ...c, guild_id: guildId, position })),
    members: [
      {
        user: { ...user(APPLICATION_ID), bot: true },
        roles: [],
        joined_at: new Date(0).toISOString(),
        deaf: false,
        mute: false,
        flags: 0,
      },
    ],
    threads: threads.map(t => ({
      ...t,
      type: ChannelType.PublicThread,
      guild_id: guildId,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 60,
        archive_timestamp: new Date(0).toISOString(),
        locked: false,
      },
    })),
    emojis: [],
    stickers: [],
    features: [],
  };
}

/** The interaction's original reply, as the worker and the bot edit it over the webhook. */
export const originalOf = (token: string) => new RegExp(`^/webhooks/${APPLICATION_ID}/${token}/messages/@original$`);
/** The interaction's callback (its first answer). */
export const callbackOf = (raw: { id: string; token: string }) =>
  new RegExp(`^/interactions/${raw.id}/${raw.token}/callback$`);
/** A result message: the only edits that carry buttons (in an action row, or inside a card). */
export const isFinal = (r: { body?: { components?: unknown } }): boolean => {
  type Node = { type?: number; components?: Node[]; accessory?: Node };
  const hasButton = (n: Node): boolean =>
    n.type === 2 || (n.components ?? []).some(hasButton) || (n.accessory !== undefined && hasButton(n.accessory));
  return Array.isArray(r.body?.components) && (r.body.components as Node[]).some(hasButton);
};
