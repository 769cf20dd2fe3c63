// The message commands end to end: a real discord.js message-command interaction → the real
// queue → the worker on stories260K → what the fake Discord received.
import { describe, expect, it } from "vitest";
import { MessageFlags } from "discord.js";
import { NAME as CONTINUE, NO_TEXT } from "../../src/commands/continueBelowZero.js";
import { NAME as HOW_WEIRD, NO_TEXT as HOW_WEIRD_NO_TEXT } from "../../src/commands/howWeird.js";
import type { WeirdJob } from "../../src/job.js";
import { useFlow } from "../helpers/flow.js";
import { type RecordedRequest } from "../helpers/fakeDiscord.js";
import {
  APPLICATION_ID,
  botConfig,
  callbackOf,
  CHANNEL_ID,
  firstWaitingJob,
  GUILD_ID,
  inDirectMessages,
  isFinal,
  messageCommand,
  originalOf,
  slashCommand,
  slashWeird,
  startBot,
  startWorker,
  userInstalled,
} from "../helpers/discordBot.js";

const flow = useFlow();

const finalFor = (token: string) =>
  flow.discord.waitFor(r => r.method === "PATCH" && originalOf(token).test(r.path) && isFinal(r));
const callbacks = (raw: { id: string; token: string }) =>
  flow.discord.find("POST", new RegExp(`^/interactions/${raw.id}/${raw.token}/callback$`));

/** A message full of everything Discord renders: mentions of every kind, emoji, links, markdown. */
const NOISY = [
  "Hey <@800000000000000009> and <@!800000000000000010>, <@&700000000000000005> in <#900000000000000055>:",
  "**bold** __under__ ||spoiler|| `code` <:blob:123456789012345678> <a:dance:123456789012345679>",
  "@everyone @here [free nitro](https://example.com/phish) <https://example.org/quiet> at <t:0:R> via </weird:1>",
].join("\n");

describe("Continue below zero", () => {
  it("continues a message's plain text, links to it, and never pings or renders its markup", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = messageCommand(CONTINUE, {
      id: "600000000000000042",
      content: NOISY,
      mentions: [["800000000000000009", "ada"]],
    });
    flow.bot.inject(raw);

    const final = await finalFor(raw.token);
    // A public deferred reply, like /weird: the result is for the channel.
    expect(callbacks(raw).map(c => c.body?.type)).toEqual([5]);
    const [job] = await flow.bot.ctx.queue.getJobs(["completed", "active", "waiting", "prioritized"]);
    expect((job!.data as WeirdJob).prompt).toBe(
      [
        "Hey @ada and @someone, @a role in #a channel:",
        "**bold** __under__ ||spoiler|| `code` :blob: :dance:",
        "@everyone @here free nitro https://example.org/quiet at 1970-01-01 00:00 UTC via /weird",
      ].join("\n"),
    );
    // The server's defaults apply (here the operator's: T = -0.001, 32 tokens).
    expect(job!.data).toMatchObject({ temperature: -0.001, maxTokens: 32 });
    const content = String(final.body?.content);
    expect(content).toContain(`Continuing https://discord.com/channels/${GUILD_ID}/${CHANNEL_ID}/600000000000000042\n`);
    // Shown as member text always is: every markdown character escaped, nothing that pings.
    expect(content).toContain("\\*\\*bold\\*\\*");
    expect(content).toContain("\\@everyone");
    expect(content).not.toMatch(/<@|<#|<:|<t:/);
    expect(final.body?.allowed_mentions).toEqual({ parse: [] });
    // The same buttons as /weird, and the link kept with the output (reroll and flip keep it).
    const [vote] = (final.body!.components as Array<{ components: Array<{ custom_id: string }> }>)[0]!.components;
    const record = await flow.bot.ctx.outputs.get(vote!.custom_id.slice("vote:".length));
    expect(record!.source).toBe(`https://discord.com/channels/${GUILD_ID}/${CHANNEL_ID}/600000000000000042`);
  });

  it("answers privately when the message has no text, and queues nothing", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = messageCommand(CONTINUE, { content: "" });
    flow.bot.inject(raw);
    const reply = await flow.discord.waitFor(r => r.path.includes(`/${raw.token}/callback`));
    expect(reply.body).toMatchObject({
      type: 4,
      data: { content: NO_TEXT, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } },
    });
    expect(await flow.bot.ctx.queue.count()).toBe(0);
  });

  it("cuts a message longer than the prompt limit and tells the member privately", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = messageCommand(CONTINUE, { content: "Once upon a time ".repeat(200) });
    flow.bot.inject(raw);
    const notice = await flow.discord.waitFor(
      r => r.method === "POST" && r.path === `/webhooks/${APPLICATION_ID}/${raw.token}`,
    );
    expect(notice.body).toMatchObject({
      content: "That message is 3399 characters long; only its first 2000 are the prompt.",
      flags: MessageFlags.Ephemeral,
    });
    const job = await firstWaitingJob(flow.bot);
    expect((job.data as WeirdJob).prompt).toHaveLength(2000);
  });

  it("works in the bot's DMs, linking with @me", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = messageCommand(CONTINUE, { content: "Once upon a time", channelId: "900000000000000077" });
    flow.bot.inject(inDirectMessages(raw));
    const final = await finalFor(raw.token);
    expect(String(final.body?.content)).toContain(
      "Continuing https://discord.com/channels/@me/900000000000000077/600000000000000042\n",
    );
  });
});

describe("user install", () => {
  it("server-only commands say why in a server that never added belowzero; /weird still queues", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    for (const name of ["weirdest", "weirdest-members", "weird-stats", "weird-config"]) {
      const raw = userInstalled(slashCommand(name));
      flow.bot.inject(raw);
      const reply = await flow.discord.waitFor(r => r.path.includes(`/${raw.token}/callback`));
      expect(reply.body).toMatchObject({ type: 4, data: { flags: MessageFlags.Ephemeral } });
      expect(String((reply.body!.data as { content: string }).content)).toMatch(
        /belong to a server that has added belowzero, and this one has not/,
      );
    }
    const raw = userInstalled(slashWeird({ prompt: "Once upon a time" }));
    flow.bot.inject(raw);
    const deferred = await flow.discord.waitFor(r => r.path.includes(`/${raw.token}/callback`));
    expect(deferred.body?.type).toBe(5);
  });
});

describe("How weird is this?", () => {
  it("scores a message's text in a worker and answers privately, with its most surprising tokens", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const plain = messageCommand(HOW_WEIRD, { content: "Once upon a time, there was a little girl." });
    // Another member: one member's second score would wait for its cooldown.
    const odd = messageCommand(
      HOW_WEIRD,
      { content: "girl little a was there, time a upon Once <@800000000000000009>" },
      { userId: "800000000000000002" },
    );
    flow.bot.inject(plain);
    flow.bot.inject(odd);
    const scoreOf = async (raw: { token: string }) => {
      const answer = await flow.discord.waitFor(
        r =>
          r.method === "PATCH" && originalOf(raw.token).test(r.path) && String(r.body?.content).startsWith("Weirdness"),
      );
      expect(answer.body?.allowed_mentions).toEqual({ parse: [] });
      return answer;
    };
    const [a, b] = await Promise.all([scoreOf(plain), scoreOf(odd)]);
    // Deferred privately (ephemeral), never a channel post: only the member sees the score.
    for (const raw of [plain, odd])
      expect(callbacks(raw).map(c => c.body)).toEqual([{ type: 5, data: { flags: MessageFlags.Ephemeral } }]);
    expect(flow.discord.find("POST", /^\/channels\//)).toEqual([]);
    const weirdness = (r: RecordedRequest) =>
      Number(/^Weirdness \*\*(\d+\.\d\d)\*\*/.exec(String(r.body?.content))![1]);
    // stories260K knows its fairy tales: the story's own words surprise it less than a shuffle.
    expect(weirdness(a)).toBeGreaterThan(0);
    expect(weirdness(b)).toBeGreaterThan(weirdness(a));
    expect(String(b.body?.content)).toMatch(/Most surprising: “.+” \(\d+\.\d\)/);
  });

  it("holds a burst back: one score per member every few seconds, and the server's queue cap", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { maxPerGuild: 5 }));
    const privateAnswer = async (raw: { id: string; token: string }) => {
      const reply = await flow.discord.waitFor(r => callbackOf(raw).test(r.path));
      return reply.body as { type: number; data?: { content?: string; flags?: number } };
    };
    // One member, four clicks at once: one is scored, three told to wait, nothing else queued.
    const one = Array.from({ length: 4 }, () =>
      messageCommand(HOW_WEIRD, { content: "Once upon a time" }, { userId: "800000000000000301" }),
    );
    one.forEach(raw => flow.bot!.inject(raw));
    const answers = await Promise.all(one.map(privateAnswer));
    expect(answers.filter(a => a.type === 5)).toHaveLength(1);
    const waits = answers.filter(a => a.type === 4);
    expect(waits).toHaveLength(3);
    for (const wait of waits) {
      expect(wait.data?.flags).toBe(MessageFlags.Ephemeral);
      expect(wait.data?.content).toMatch(/^Easy there: you can score another message in [1-5] s\.$/);
    }
    await expect.poll(() => flow.bot!.ctx.queue.count()).toBe(1);

    // Seven members at once: the server's cap (5 places, the first score's included) holds.
    const many = Array.from({ length: 7 }, (_, i) =>
      messageCommand(HOW_WEIRD, { content: "Once upon a time" }, { userId: `80000000000000040${i}` }),
    );
    many.forEach(raw => flow.bot!.inject(raw));
    const more = await Promise.all(many.map(privateAnswer));
    expect(more.filter(a => a.type === 5)).toHaveLength(4);
    const full = more.filter(a => a.type === 4);
    expect(full.map(a => a.data?.content)).toEqual(
      Array(3).fill(
        "This server's queue is full (5 of 5 requests waiting or running), so nothing was scored. Please try again in a minute.",
      ),
    );
    await expect.poll(() => flow.bot!.ctx.queue.count()).toBe(5);

    // A worker answers the five, and their places are free again.
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const scored = [one, many]
      .flat()
      .filter((_, i) => [answers, more].flat()[i]!.type === 5)
      .map(raw =>
        flow.discord.waitFor(
          r =>
            r.method === "PATCH" &&
            originalOf(raw.token).test(r.path) &&
            String(r.body?.content).startsWith("Weirdness"),
        ),
      );
    expect(await Promise.all(scored)).toHaveLength(5);
    await expect.poll(() => flow.bot!.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
  });

  it("answers an empty message privately at once, without queueing", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = messageCommand(HOW_WEIRD, { content: "" });
    flow.bot.inject(raw);
    const reply = await flow.discord.waitFor(r => r.path.includes(`/${raw.token}/callback`));
    expect(reply.body).toMatchObject({ type: 4, data: { content: HOW_WEIRD_NO_TEXT, flags: MessageFlags.Ephemeral } });
    expect(await flow.bot.ctx.queue.count()).toBe(0);
  });
});
