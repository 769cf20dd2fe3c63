// /weird-config end to end: real discord.js interactions from the command's own definition,
// real Redis (own prefix), the fake Discord, and the real engine where a generation runs.
import { ModelRegistry } from "../../src/store/models.js";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ApplicationCommandOptionType,
  ChannelType,
  InteractionContextType,
  InteractionResponseType,
  MessageFlags,
  PermissionFlagsBits,
} from "discord.js";
import { QUEUE_UNAVAILABLE, SETTINGS_UNAVAILABLE } from "../../src/interactions/context.js";
import { commands } from "../../src/interactions/commands.js";
import { channelsText } from "../../src/discord/settingsMessages.js";
import type { BotConfig } from "../../src/config.js";
import type { Engine } from "../../src/engine/engine.js";
import { parseJob, type WeirdJob } from "../../src/job.js";
import { RedisKeys } from "../../src/store/keys.js";
import type { SettingsChangeRecord } from "../../src/store/settings.js";
import { loadTestEngine } from "../helpers/engine.js";
import { FakeDiscord, type RecordedRequest } from "../helpers/fakeDiscord.js";
import {
  APPLICATION_ID,
  botConfig,
  buttonPress,
  callbackOf,
  CHANNEL_ID,
  deleteKeys,
  GUILD_ID,
  guildCreate,
  inDirectMessages,
  originalOf,
  type PickedChannel,
  ready,
  slashCommand,
  slashSubcommand,
  slashWeird,
  startBot,
  startWorker,
  type TestBot,
  testPrefix,
} from "../helpers/discordBot.js";

const ADMIN = "800000000000000501";
const MEMBER = "800000000000000502";
const OTHER_CHANNEL = "900000000000000011";
const HALL = "900000000000000012";
const POSTABLE = PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages;
const ADMIN_PERMISSIONS = (
  PermissionFlagsBits.ManageGuild |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.UseApplicationCommands
).toString();

let engine: Engine | undefined;
let discord: FakeDiscord;
let prefix: string;
let bots: TestBot[] = [];
let worker: ReturnType<typeof startWorker> | undefined;

beforeEach(async () => {
  discord = await new FakeDiscord().start();
  prefix = testPrefix();
});
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  for (const bot of bots.splice(0)) await bot.close();
  await discord.stop();
  await deleteKeys(prefix);
});
afterAll(async () => {
  await engine?.dispose();
});

async function bot(config: BotConfig = botConfig(discord.url, prefix), waitForRedis = true): Promise<TestBot> {
  const started = await startBot(config, waitForRedis);
  bots.push(started);
  return started;
}

/** The bot as the gateway leaves it: the test server and its text channel in discord.js's cache. */
function serverCached(target: TestBot): TestBot {
  target.dispatch(
    "GUILD_CREATE",
    guildCreate(GUILD_ID, [{ id: CHANNEL_ID, name: "general", type: ChannelType.GuildText }]),
  );
  return target;
}

const definitionOf = (config: BotConfig) => commands({ config }).find(c => c.name === "weird-config")!.json;

/** Sends the interaction and returns the private answer's text (failing if the answer is not private). */
async function privateAnswer(target: TestBot, raw: { id: string; token: string }): Promise<string> {
  target.inject(raw);
  const answer = await discord.waitFor(r => callbackOf(raw).test(r.path));
  expect(answer.body).toMatchObject({
    type: InteractionResponseType.ChannelMessageWithSource,
    data: { flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } },
  });
  return (answer.body!.data as { content: string }).content;
}

/** /weird-config <subcommand> as an admin of the test server. */
function config(
  target: TestBot,
  subcommand: string,
  values: Record<string, string | number | boolean | PickedChannel> = {},
  options: { userId?: string; permissions?: string } = {},
) {
  return privateAnswer(
    target,
    slashSubcommand(definitionOf(target.ctx.config), subcommand, values, {
      userId: ADMIN,
      permissions: ADMIN_PERMISSIONS,
      ...options,
    }),
  );
}

const stored = (target: TestBot) => target.redis.hgetall(new RedisKeys(prefix).settings(GUILD_ID));
/** The server's settings log, newest first. */
const history = async (target: TestBot) =>
  (await target.redis.lrange(new RedisKeys(prefix).settingsLog(GUILD_ID), 0, -1)).map(
    entry => JSON.parse(entry) as SettingsChangeRecord,
  );
const textChannel = (id: string, appPermissions: bigint = POSTABLE): PickedChannel => ({
  id,
  name: `chan-${id.slice(-2)}`,
  type: ChannelType.GuildText,
  appPermissions,
});

describe("/weird-config definition", () => {
  it("is for Manage Server, servers only, with the issue's subcommand and option names", () => {
    const json = definitionOf(botConfig("http://x", "p"));
    expect(json.default_member_permissions).toBe(PermissionFlagsBits.ManageGuild.toString());
    expect(json.contexts).toEqual([InteractionContextType.Guild]);
    const shape = Object.fromEntries(
      (json.options ?? []).map(sub => {
        expect(sub.type).toBe(ApplicationCommandOptionType.Subcommand);
        const options = (sub as { options?: Array<{ name: string; required?: boolean }> }).options ?? [];
        return [sub.name, options.map(o => `${o.name}${o.required ? "" : "?"}`)];
      }),
    );
    expect(shape).toEqual({
      show: [],
      temperature: ["default", "min?", "max?"],
      tokens: ["default", "max?"],
      cooldown: ["seconds"],
      channel: ["action", "channel?"],
      "hall-of-fame": ["channel", "threshold", "remove_below?"],
      votes: ["self"],
      policy: ["allow_bytes"],
      vocab: ["default"],
      model: ["default", "allowed?"],
      layout: ["style"],
      reset: ["setting?"],
    });
  });
});

describe("channel lists in messages", () => {
  it("stay short with the most channels a server may list, so no answer passes 2,000 characters", () => {
    const ids = (from: number) => Array.from({ length: 50 }, (_, i) => String(900000000000001000n + BigInt(from + i)));
    const text = channelsText({ allowed: ids(0), denied: ids(100) });
    expect(text.length).toBeLessThan(800);
    expect(text).toMatch(/ and 38 more\)$/);
  });
});

describe("/weird-config", () => {
  it("show: every setting from the operator's defaults, and no change yet", async () => {
    const b = await bot();
    const text = await config(b, "show");
    expect(text).toContain(
      "**temperature**: default T = -0.001 (β = -1000), members may ask for -100 … 100 *(default)*",
    );
    expect(text).toContain("**tokens**: default 32, at most 512 *(default)*");
    expect(text).toContain("**cooldown**: 0 s per member *(default)*");
    expect(text).toContain("**channel**: everywhere *(default)*");
    expect(text).toContain("**hall-of-fame**: off *(default)*");
    expect(text).toContain("**votes**: authors may not vote for their own outputs *(default)*");
    expect(text).toContain("**policy**: no raw byte tokens below zero *(default)*");
    expect(text).toContain("**vocab**: any: every token (members may pick a script with /weird vocab:) *(default)*");
    expect(text).toContain("Last change: none");
  });

  it("layout: a server chooses plain messages over cards; its jobs carry the choice, reset brings cards back", async () => {
    const b = await bot({ ...botConfig(discord.url, prefix), layout: "cards" });
    expect(await config(b, "show")).toContain("**layout**: cards: results as Discord's cards");
    expect(await config(b, "layout", { style: "plain" })).toBe(
      "Layout: plain: results as plain messages, for clients or bridges that cannot show cards.",
    );
    const queued = async (prompt: string) => {
      b.inject(slashWeird({ prompt }));
      await expect.poll(async () => (await b.ctx.queue.getJobs(["prioritized", "waiting"])).length).toBeGreaterThan(0);
      const jobs = await b.ctx.queue.getJobs(["prioritized", "waiting"]);
      const job = jobs.find(j => (j.data as WeirdJob).prompt === prompt)!;
      await job.remove();
      return job.data as WeirdJob;
    };
    expect((await queued("Once upon a time")).layout).toBeUndefined();
    await config(b, "reset", { setting: "layout" });
    expect((await queued("Once upon a time, again")).layout).toBe("cards");
  });

  it("temperature: sets the default and range, logs the change, and show names who changed it", async () => {
    const b = await bot();
    expect(await config(b, "temperature", { default: -1, min: -2, max: 0 })).toBe(
      "Temperature: default T = -1 (β = -1), members may ask for -2 … 0.",
    );
    const text = await config(b, "show");
    expect(text).toContain("**temperature**: default T = -1 (β = -1), members may ask for -2 … 0 *(set here)*");
    expect(text).toMatch(new RegExp(`Last change: temperature by <@${ADMIN}> <t:\\d+:f>\\.`));
    expect(await b.ctx.settings.forServer(GUILD_ID)).toMatchObject({ temperature: { default: -1, min: -2, max: 0 } });
    // Logged with server, member, setting, old → new; and kept in Redis.
    expect(b.logs).toContain(
      `settings: server ${GUILD_ID} member ${ADMIN} temperature: default → {"default":-1,"min":-2,"max":0}`,
    );
    const [change] = await history(b);
    expect(change).toMatchObject({ memberId: ADMIN, setting: "temperature", old: null, new: { default: -1 } });
    // Leaving min and max out keeps the range; setting the same again changes nothing.
    expect(await config(b, "temperature", { default: -0.5 })).toContain("members may ask for -2 … 0");
    expect(await config(b, "temperature", { default: -0.5 })).toMatch(/^Temperature \(unchanged\):/);
    expect(await history(b)).toHaveLength(2);
  });

  it("temperature refusals: min above max, default outside the range, beyond MAX_ABS_TEMPERATURE; nothing changes", async () => {
    const b = await bot();
    await config(b, "temperature", { default: -1, min: -2, max: 0 });
    const before = await stored(b);
    expect(await config(b, "temperature", { default: -1, min: 1, max: -1 })).toBe(
      "The min 1 is above the max -1. Nothing was changed.",
    );
    expect(await config(b, "temperature", { default: 0.5 })).toBe(
      "The default 0.5 is outside the range -2 … 0. Nothing was changed.",
    );
    expect(await config(b, "temperature", { default: -1, min: -150, max: 0 })).toBe(
      "The min -150 is outside the operator's limit MAX_ABS_TEMPERATURE: T must stay within -100 … 100. Nothing was changed.",
    );
    expect(await config(b, "temperature", { default: -1e-9, min: -1, max: 0 })).toMatch(
      /^The default must be 0 or at least 0.000001/,
    );
    expect(await stored(b)).toEqual(before);
  });

  it("tokens: narrows MAX_TOKENS_CAP, never widens it", async () => {
    const b = await bot();
    expect(await config(b, "tokens", { default: 20, max: 100 })).toBe("Max tokens: default 20, at most 100.");
    expect(await config(b, "tokens", { default: 20, max: 600 })).toBe(
      "The max 600 is outside the operator's limit MAX_TOKENS_CAP: it must be from 1 to 512. Nothing was changed.",
    );
    expect(await config(b, "tokens", { default: 200 })).toBe(
      "The default 200 must be from 1 to the max, 100. Nothing was changed.",
    );
    expect(await b.ctx.settings.forServer(GUILD_ID)).toMatchObject({ maxTokens: { default: 20, max: 100 } });
  });

  it("cooldown: longer than the operator's only, and /weird waits that long", async () => {
    const b = await bot(botConfig(discord.url, prefix, { cooldownMs: 10_000 }));
    expect(await config(b, "cooldown", { seconds: 5 })).toBe(
      "The cooldown 5 s is below the operator's limit COOLDOWN_SECONDS: it must be at least 10 s. Nothing was changed.",
    );
    expect(await config(b, "cooldown", { seconds: 300 })).toBe("Cooldown: 300 s per member.");
    const first = slashWeird({ prompt: "a", userId: MEMBER });
    b.inject(first);
    await discord.waitFor(r => originalOf(first.token).test(r.path));
    expect(await privateAnswer(b, slashWeird({ prompt: "b", userId: MEMBER }))).toMatch(
      /^Easy there: you can ask again in (299|300) s\.$/,
    );
  });

  it("channel: allow, deny and clear decide where /weird works; elsewhere members are told where", async () => {
    const b = serverCached(await bot());
    expect(await config(b, "channel", { action: "allow" })).toBe("Name the channel to allow. Nothing was changed.");
    expect(await config(b, "channel", { action: "allow", channel: textChannel(OTHER_CHANNEL) })).toBe(
      `Channels: only in <#${OTHER_CHANNEL}>.`,
    );
    expect(await privateAnswer(b, slashWeird({ prompt: "hi" }))).toBe(
      `/weird and its buttons don't work in this channel. On this server they work only in <#${OTHER_CHANNEL}>.`,
    );
    const there = slashWeird({ prompt: "hi", channelId: OTHER_CHANNEL });
    b.inject(there);
    expect((await discord.waitFor(r => callbackOf(there).test(r.path))).body?.type).toBe(
      InteractionResponseType.DeferredChannelMessageWithSource,
    );

    expect(await config(b, "channel", { action: "clear" })).toBe("Channels: everywhere.");
    expect(await config(b, "channel", { action: "deny", channel: textChannel(CHANNEL_ID) })).toBe(
      `Channels: everywhere except <#${CHANNEL_ID}>.`,
    );
    expect(await privateAnswer(b, slashWeird({ prompt: "hi" }))).toBe(
      `/weird and its buttons don't work in this channel. On this server they work everywhere except <#${CHANNEL_ID}>.`,
    );
    expect(await config(b, "channel", { action: "clear", channel: textChannel(CHANNEL_ID) })).toBe(
      "Channels: everywhere.",
    );
    expect(
      await config(b, "channel", {
        action: "allow",
        channel: { id: "900000000000000013", name: "**Rules** @everyone", type: ChannelType.GuildCategory },
      }),
    ).toBe("#\\*\\*Rules\\*\\* \\@everyone is not a channel members can type in. Nothing was changed.");
  });

  it("channel: a thread counts as the channel it is in", async () => {
    const b = await bot();
    const thread = "900000000000000014";
    b.dispatch(
      "GUILD_CREATE",
      guildCreate(
        GUILD_ID,
        [{ id: CHANNEL_ID, name: "general", type: ChannelType.GuildText }],
        [{ id: thread, name: "a thread", parent_id: CHANNEL_ID }],
      ),
    );
    await config(b, "channel", { action: "allow", channel: textChannel(CHANNEL_ID) });
    const inThread = slashWeird({
      prompt: "hi",
      channelId: thread,
      thread: { parentId: CHANNEL_ID, type: ChannelType.PublicThread },
    });
    b.inject(inThread);
    expect((await discord.waitFor(r => callbackOf(inThread).test(r.path))).body?.type).toBe(
      InteractionResponseType.DeferredChannelMessageWithSource,
    );
    await config(b, "channel", { action: "deny", channel: textChannel(CHANNEL_ID) });
    expect(
      await privateAnswer(
        b,
        slashWeird({
          prompt: "hi",
          channelId: thread,
          thread: { parentId: CHANNEL_ID, type: ChannelType.PublicThread },
          userId: MEMBER,
        }),
      ),
    ).toBe(
      `/weird and its buttons don't work in this channel. On this server they work everywhere except <#${CHANNEL_ID}>.`,
    );
  });

  it("channel: a private thread the bot has never seen still counts as its parent", async () => {
    const b = await bot();
    // The gateway sends no private thread the bot is not in: only the interaction names it.
    b.dispatch(
      "GUILD_CREATE",
      guildCreate(GUILD_ID, [{ id: CHANNEL_ID, name: "general", type: ChannelType.GuildText }]),
    );
    await config(b, "channel", { action: "deny", channel: textChannel(CHANNEL_ID) });
    const secret = { channelId: "900000000000000015", thread: { parentId: CHANNEL_ID } };
    expect(await privateAnswer(b, slashWeird({ prompt: "hi", userId: MEMBER, ...secret }))).toBe(
      `/weird and its buttons don't work in this channel. On this server they work everywhere except <#${CHANNEL_ID}>.`,
    );
    await config(b, "channel", { action: "clear", channel: textChannel(CHANNEL_ID) });
    const allowed = slashWeird({ prompt: "hi", userId: MEMBER, ...secret });
    b.inject(allowed);
    expect((await discord.waitFor(r => callbackOf(allowed).test(r.path))).body?.type).toBe(
      InteractionResponseType.DeferredChannelMessageWithSource,
    );
  });

  it("channel: with a channel list in force, a channel the bot cannot place is refused", async () => {
    const b = await bot(); // no GUILD_CREATE: discord.js cannot build the channel
    await config(b, "channel", { action: "deny", channel: textChannel(OTHER_CHANNEL) });
    expect(await privateAnswer(b, slashWeird({ prompt: "hi", userId: MEMBER }))).toBe(
      `I can't tell which channel this is, so I can't check it against this server's list: /weird works everywhere except <#${OTHER_CHANNEL}>. Please try it in another channel.`,
    );
  });

  it("a thread takes Send Messages in Threads, not Send Messages", async () => {
    const b = await bot();
    b.dispatch(
      "GUILD_CREATE",
      guildCreate(GUILD_ID, [{ id: CHANNEL_ID, name: "general", type: ChannelType.GuildText }]),
    );
    const inThread = { channelId: "900000000000000016", thread: { parentId: CHANNEL_ID }, userId: MEMBER };
    const base = PermissionFlagsBits.ViewChannel | PermissionFlagsBits.UseApplicationCommands;
    const withoutThreads = (base | PermissionFlagsBits.SendMessages).toString();
    expect(await privateAnswer(b, slashWeird({ prompt: "hi", ...inThread, permissions: withoutThreads }))).toBe(
      "You can't post messages in this channel, so /weird can't either.",
    );
    const onlyThreads = slashWeird({
      prompt: "hi",
      ...inThread,
      permissions: (base | PermissionFlagsBits.SendMessagesInThreads).toString(),
    });
    b.inject(onlyThreads);
    expect((await discord.waitFor(r => callbackOf(onlyThreads).test(r.path))).body?.type).toBe(
      InteractionResponseType.DeferredChannelMessageWithSource,
    );
  });

  it("hall-of-fame: a text channel of this server the bot can post in", async () => {
    const b = await bot();
    expect(await config(b, "hall-of-fame", { channel: textChannel(HALL), threshold: 5, remove_below: 2 })).toBe(
      `Hall of fame: <#${HALL}> at 5 votes, taken down below 2 votes.`,
    );
    expect((await b.ctx.settings.forServer(GUILD_ID)).hallOfFame).toEqual({
      channelId: HALL,
      threshold: 5,
      removeBelow: 2,
    });
    const before = await stored(b);
    expect(
      await config(b, "hall-of-fame", {
        channel: { id: HALL, name: "voice", type: ChannelType.GuildVoice, appPermissions: POSTABLE },
        threshold: 5,
      }),
    ).toBe("#voice is not a text channel. Nothing was changed.");
    expect(
      await config(b, "hall-of-fame", {
        channel: textChannel(HALL, PermissionFlagsBits.ViewChannel),
        threshold: 5,
      }),
    ).toBe(
      `I can't post in <#${HALL}>: I need View Channel and Send Messages there. Give me those, or pick another channel. Nothing was changed.`,
    );
    const withoutPermissions = { id: HALL, name: "hall", type: ChannelType.GuildText };
    expect(await config(b, "hall-of-fame", { channel: withoutPermissions, threshold: 5 })).toBe(
      `I can't tell whether I can post in <#${HALL}>. Nothing was changed.`,
    );
    expect(await config(b, "hall-of-fame", { channel: textChannel(HALL), threshold: 3, remove_below: 4 })).toBe(
      "remove_below must be a whole number from 0 to the threshold, 3. Nothing was changed.",
    );
    expect(await stored(b)).toEqual(before);
    expect(await config(b, "hall-of-fame", { channel: textChannel(HALL), threshold: 0 })).toBe("Hall of fame: off.");
  });

  it("hall-of-fame: a channel of another server is refused", async () => {
    const b = await bot();
    // The bot knows the channel (from the gateway) as another server's.
    b.dispatch(
      "GUILD_CREATE",
      guildCreate("900000000000000099", [{ id: HALL, name: "elsewhere", type: ChannelType.GuildText }]),
    );
    expect(await config(b, "hall-of-fame", { channel: textChannel(HALL), threshold: 5 })).toBe(
      "That channel is in another server: pick one of this server's channels. Nothing was changed.",
    );
    expect(await stored(b)).toEqual({});
  });

  it("hall-of-fame: without app_permissions, the bot's permissions come from the gateway's cache", async () => {
    const b = await bot();
    b.dispatch("READY", ready());
    const noPosting = { id: GUILD_ID, type: 0 as const, allow: "0", deny: PermissionFlagsBits.SendMessages.toString() };
    b.dispatch(
      "GUILD_CREATE",
      guildCreate(GUILD_ID, [
        { id: CHANNEL_ID, name: "general", type: ChannelType.GuildText },
        { id: HALL, name: "hall", type: ChannelType.GuildText },
        { id: OTHER_CHANNEL, name: "read-only", type: ChannelType.GuildText, permission_overwrites: [noPosting] },
      ]),
    );
    const picked = (id: string) => ({ id, name: "x", type: ChannelType.GuildText });
    expect(await config(b, "hall-of-fame", { channel: picked(OTHER_CHANNEL), threshold: 5 })).toBe(
      `I can't post in <#${OTHER_CHANNEL}>: I need View Channel and Send Messages there. Give me those, or pick another channel. Nothing was changed.`,
    );
    expect(await config(b, "hall-of-fame", { channel: picked(HALL), threshold: 5 })).toBe(
      `Hall of fame: <#${HALL}> at 5 votes, never taken down.`,
    );
  });

  it("votes and policy", async () => {
    const b = await bot();
    expect(await config(b, "votes", { self: true })).toBe("Votes: authors may vote for their own outputs.");
    expect(await config(b, "policy", { allow_bytes: true })).toBe(
      "Token policy: raw byte tokens may be sampled below zero.",
    );
    expect(await b.ctx.settings.forServer(GUILD_ID)).toMatchObject({ selfVotes: true, allowBytes: true });
  });

  it("vocab: sets the server's default vocabulary, shown and reset like the rest; a name past the choices is refused", async () => {
    const b = await bot();
    expect(await config(b, "vocab", { default: "ascii" })).toBe(
      "Vocabulary: ascii: printable ASCII only, unless a member picks another with /weird vocab:.",
    );
    expect((await b.ctx.settings.forServer(GUILD_ID)).vocab).toBe("ascii");
    expect(await config(b, "show")).toContain(
      "**vocab**: ascii: printable ASCII only, unless a member picks another with /weird vocab: *(set here)*",
    );
    expect(await config(b, "vocab", { default: "klingon" })).toBe(
      "The vocabulary must be one of any, ascii, latin, cyrillic, greek, cjk, arabic, hebrew, devanagari. Nothing was changed.",
    );
    expect((await b.ctx.settings.forServer(GUILD_ID)).vocab).toBe("ascii");
    expect(await config(b, "reset", { setting: "vocab" })).toBe("Reset to the operator's defaults: vocab.");
    expect((await b.ctx.settings.forServer(GUILD_ID)).vocab).toBe("any");
  });

  it("model: a server's default model and allowed list route /weird, and an unknown id is named", async () => {
    const b = await bot();
    // Two live models, as their workers' heartbeats would say.
    const registry = new ModelRegistry(b.redis, prefix);
    for (const id of ["tiny", "big"])
      await registry.heartbeat({
        workerId: `w-${id}`,
        id,
        queue: `weird-${id}`,
        file: `${id}.gguf`,
        sizeBytes: 1,
        type: "llama",
        vocabularySize: 1,
        contextSize: 64,
        tokensPerSecond: null,
      });
    expect(await config(b, "model", { default: "big", allowed: "big, tiny" })).toBe(
      "Models: default big; members may pick only big, tiny.",
    );
    expect(await config(b, "show")).toContain("**model**: default big; members may pick only big, tiny *(set here)*");
    // Left out, the server's default; named, the member's pick, within the list.
    b.inject(slashWeird({ prompt: "Once" }));
    b.inject(slashWeird({ prompt: "Once", model: "tiny", userId: "800000000000000009" }));
    for (let i = 0; i < 100 && (await b.ctx.queues.get("weird-tiny").count()) === 0; i++)
      await new Promise(resolve => setTimeout(resolve, 50));
    expect(await b.ctx.queues.get("weird-big").count()).toBe(1);
    expect(await b.ctx.queues.get("weird-tiny").count()).toBe(1);
    expect(await config(b, "model", { default: "none", allowed: "big" })).toBe(
      "Models: default: the shared queue's model, else the first live one; members may pick only big.",
    );
    const refused = slashWeird({ prompt: "Once", model: "tiny", userId: "800000000000000008" });
    expect(await privateAnswer(b, refused)).toBe("This server allows only these models: big. tiny is not one of them.");
    expect(await config(b, "model", { default: "tiny" })).toBe(
      "The default model tiny is not among the allowed ones (big). Nothing was changed.",
    );
    expect(await config(b, "model", { default: "typo", allowed: "any" })).toBe(
      "Models: default typo; members may pick any model. No worker has served typo yet.",
    );
    expect(await config(b, "reset", { setting: "model" })).toBe("Reset to the operator's defaults: model.");
  });

  it("reset: one setting, or all", async () => {
    const b = await bot();
    await config(b, "votes", { self: true });
    await config(b, "cooldown", { seconds: 30 });
    expect(await config(b, "reset", { setting: "votes" })).toBe("Reset to the operator's defaults: votes.");
    expect(await config(b, "reset", { setting: "votes" })).toBe(
      "Nothing to reset: votes is the operator's default already.",
    );
    expect(Object.keys(await stored(b))).toEqual(["cooldown"]);
    expect(await config(b, "reset")).toBe("Reset to the operator's defaults: cooldown.");
    expect(await stored(b)).toEqual({});
    expect(await config(b, "reset")).toBe("Nothing to reset: this server uses the operator's defaults already.");
    const [last] = await history(b);
    expect(last).toMatchObject({ setting: "cooldown", old: 30, new: null, memberId: ADMIN });
  });

  it("refuses members without Manage Server (checked in the handler), DMs, and Redis being down", async () => {
    const b = await bot();
    const member = (PermissionFlagsBits.SendMessages | PermissionFlagsBits.ViewChannel).toString();
    expect(await config(b, "cooldown", { seconds: 60 }, { userId: MEMBER, permissions: member })).toBe(
      "Only members with the Manage Server permission can change /weird's settings.",
    );
    expect(await config(b, "show", {}, { userId: MEMBER, permissions: member })).toBe(
      "Only members with the Manage Server permission can change /weird's settings.",
    );
    const dm = inDirectMessages(slashSubcommand(definitionOf(b.ctx.config), "cooldown", { seconds: 60 }));
    expect(await privateAnswer(b, dm)).toBe("/weird-config works only in a server.");
    expect(await stored(b)).toEqual({});

    const down = await bot(botConfig(discord.url, prefix, {}, "redis://127.0.0.1:1"), false);
    expect(await config(down, "cooldown", { seconds: 60 })).toBe(SETTINGS_UNAVAILABLE);
    expect(await config(down, "show")).toBe(SETTINGS_UNAVAILABLE);
  });
});

describe("settings in effect", () => {
  it("precedence: the member's option > the server's setting > the operator's default; the range holds", async () => {
    const b = await bot();
    const queued = async (raw: ReturnType<typeof slashWeird>) => {
      b.inject(raw);
      const reply = await discord.waitFor(r => originalOf(raw.token).test(r.path));
      return String(reply.body?.content);
    };
    expect(await queued(slashWeird({ prompt: "a", userId: "800000000000000601" }))).toMatch(
      /^Queued at \*\*T = -0.001 /,
    );
    await config(b, "temperature", { default: -1, min: -2, max: 0 });
    await config(b, "tokens", { default: 20, max: 40 });
    expect(await queued(slashWeird({ prompt: "b", userId: "800000000000000602" }))).toMatch(/^Queued at \*\*T = -1 /);
    expect(await queued(slashWeird({ prompt: "c", temp: -1.5, userId: "800000000000000603" }))).toMatch(
      /^Queued at \*\*T = -1.5 /,
    );
    // "Queued" is said before the job is added: wait for the third.
    await expect.poll(async () => (await b.ctx.queue.getJobs(["waiting", "prioritized"])).length).toBe(3);
    const jobs = await b.ctx.queue.getJobs(["waiting", "prioritized"]);
    expect(
      jobs
        .map(j => parseJob(j.data))
        .map(j => [j.prompt, j.temperature, j.maxTokens])
        .sort(),
    ).toEqual([
      ["a", -0.001, 32],
      ["b", -1, 20],
      ["c", -1.5, 20],
    ]);
    expect(await privateAnswer(b, slashWeird({ prompt: "d", temp: 1, userId: "800000000000000604" }))).toBe(
      "This server allows T from -2 to 0; T = 1 is outside it.",
    );
    expect(await privateAnswer(b, slashWeird({ prompt: "e", maxTokens: 41, userId: "800000000000000605" }))).toBe(
      "This server allows at most 40 tokens; 41 is more.",
    );
    expect(await b.ctx.queue.getJobCountByTypes("waiting", "prioritized")).toBe(3); // every job has a priority (fair queue)
  });

  it("a change is seen at once by another bot process sharing the Redis, and survives a restart", async () => {
    const first = await bot();
    const second = await bot();
    await config(first, "temperature", { default: -2, min: -3, max: -1 });
    const help = await privateAnswer(second, slashCommand("weird-help"));
    expect(help).toContain("On this server: temperature default T = -2 (β = -0.5), members may ask for -3 … -1");
    expect(await privateAnswer(second, slashWeird({ prompt: "x", temp: 0.5 }))).toBe(
      "This server allows T from -3 to -1; T = 0.5 is outside it.",
    );

    await first.close();
    await second.close();
    bots = [];
    const restarted = await bot();
    expect(await config(restarted, "show")).toContain("members may ask for -3 … -1 *(set here)*");
  });

  it("a value the operator's limits no longer allow is ignored, not widened into effect", async () => {
    const b = await bot();
    await config(b, "tokens", { default: 300, max: 500 });
    const narrower = botConfig(discord.url, prefix);
    const restarted = await bot({ ...narrower, limits: { ...narrower.limits, maxTokensCap: 100 } });
    expect((await restarted.ctx.settings.forServer(GUILD_ID)).maxTokens).toEqual({ default: 32, max: 100 });
    expect(await config(restarted, "show")).toContain(
      "**tokens**: default 32, at most 100 *(default: this server's value is outside the operator's limits now)*",
    );
  });

  it("/weird-help in a DM shows the operator's defaults; without Redis, the help still comes", async () => {
    const b = await bot();
    expect(await privateAnswer(b, inDirectMessages(slashCommand("weird-help")))).toContain(
      "Here: temperature default T = -0.001 (β = -1000), members may ask for -100 … 100; max tokens default 32, at most 512.",
    );
    const down = await bot(botConfig(discord.url, prefix, {}, "redis://127.0.0.1:1"), false);
    expect(await privateAnswer(down, slashCommand("weird-help"))).toMatch(
      /least\* likely[\s\S]*This server's settings are unavailable right now/,
    );
    expect(await privateAnswer(down, slashWeird({ prompt: "x" }))).toBe(QUEUE_UNAVAILABLE);
  });
});

describe("settings in generations and buttons", () => {
  beforeAll(async () => {
    engine = await loadTestEngine();
  });
  const isFinal = (r: RecordedRequest) =>
    Array.isArray(r.body?.components) && (r.body.components as unknown[]).length > 0;
  const finalFor = (token: string) =>
    discord.waitFor(r => r.method === "PATCH" && originalOf(token).test(r.path) && isFinal(r));
  const buttons = (r: RecordedRequest) =>
    (r.body!.components as Array<{ components: Array<{ custom_id: string }> }>)[0]!.components.map(c => c.custom_id);

  async function result(b: TestBot, temp: number, options: { seed?: number; userId?: string } = {}) {
    const raw = slashWeird({
      prompt: "Once upon a time",
      temp,
      maxTokens: 16,
      seed: options.seed ?? 3,
      userId: options.userId,
    });
    b.inject(raw);
    return finalFor(raw.token);
  }

  it("the server's token policy travels with the job to the worker", async () => {
    const b = await bot();
    worker = startWorker(engine!, discord.url, prefix);
    const plain = await result(b, -0.001, { userId: "800000000000000701" });
    expect(plain.body?.content).toContain("|".repeat(16));
    await config(b, "policy", { allow_bytes: true });
    const bytes = await result(b, -0.001, { userId: "800000000000000702" });
    // The final message goes out just before the job is marked complete: it may still be active.
    const jobs = await b.ctx.queue.getJobs(["completed", "active"]);
    expect(jobs.map(j => parseJob(j.data).allowBytes).sort()).toEqual([false, true]);
    // Below zero with byte tokens allowed, the least likely tokens are no longer "|".
    expect(bytes.body?.content).not.toContain("|".repeat(16));
  });

  it("a job's allowBytes must be true or false; jobs queued before it existed keep the worker's policy", () => {
    const job = {
      applicationId: APPLICATION_ID,
      interactionToken: "t",
      interactionAt: 0,
      guildId: GUILD_ID,
      channelId: CHANNEL_ID,
      userId: MEMBER,
      prompt: "Once",
      temperature: -1,
      maxTokens: 4,
      seed: 1,
    };
    expect(parseJob(job).allowBytes).toBeUndefined();
    expect(parseJob({ ...job, allowBytes: true }).allowBytes).toBe(true);
    expect(() => parseJob({ ...job, allowBytes: "yes" })).toThrow("Malformed job: allowBytes must be true or false");
  });

  it("reroll respects a range narrowed since; flip says when it would leave the range; buttons follow the channel list", async () => {
    const b = serverCached(await bot());
    worker = startWorker(engine!, discord.url, prefix);
    const [, reroll, flip] = buttons(await result(b, -1));
    await config(b, "temperature", { default: -1, min: -1, max: 0 });
    expect(await privateAnswer(b, buttonPress(flip!))).toBe(
      "Flipping to T = 1 would leave this server's range (T from -1 to 0), so nothing was queued.",
    );
    const rerolled = buttonPress(reroll!);
    b.inject(rerolled);
    expect((await finalFor(rerolled.token)).body?.content).toContain("**T = -1 · β = -1**");

    await config(b, "temperature", { default: -0.5, min: -0.5, max: 0 });
    expect(await privateAnswer(b, buttonPress(reroll!))).toBe(
      "This server allows T from -0.5 to 0; T = -1 is outside it.",
    );
    await config(b, "channel", { action: "deny", channel: textChannel(CHANNEL_ID) });
    await config(b, "temperature", { default: -1, min: -2, max: 2 });
    expect(await privateAnswer(b, buttonPress(flip!))).toBe(
      `/weird and its buttons don't work in this channel. On this server they work everywhere except <#${CHANNEL_ID}>.`,
    );
  });
});
