// /weird end to end: real discord.js interactions → real Redis queue → worker with the real
// engine on stories260K → REST requests recorded by a local fake Discord.
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { QueueEvents } from "bullmq";
import { InteractionResponseType, MessageFlags } from "discord.js";
import { QUEUE_NAME, RedisKeys } from "../../src/store/keys.js";
import { workerConnection } from "../../src/store/redis.js";
import { describe, expect, it } from "vitest";
import { QUEUE_UNAVAILABLE } from "../../src/interactions/context.js";
import { loadTestEngine, temporaryFolder } from "../helpers/engine.js";
import { type RecordedRequest } from "../helpers/fakeDiscord.js";
import { useFlow } from "../helpers/flow.js";
import {
  APPLICATION_ID,
  botConfig,
  buttonPress,
  callbackOf,
  CHANNEL_ID,
  GUILD_ID,
  inDirectMessages,
  isFinal,
  originalOf,
  pauseRedisWrites,
  REDIS_URL,
  slashCommand,
  slashWeird,
  startBot,
  startWorker,
  type TestBot,
} from "../helpers/discordBot.js";

const flow = useFlow();

const finalFor = (token: string, timeoutMs?: number) =>
  flow.discord.waitFor(r => r.method === "PATCH" && originalOf(token).test(r.path) && isFinal(r), timeoutMs);
/** Waits until this many jobs are marked complete (the final message goes out just before). */
async function completedJobs(bot: TestBot, count: number): Promise<void> {
  // Through the project's own connection factory, which also speaks Redis Cluster (CI).
  const connection = workerConnection(REDIS_URL);
  const events = new QueueEvents(QUEUE_NAME, { connection, prefix: flow.prefix });
  try {
    await events.waitUntilReady();
    const done = new Promise<void>(resolve => {
      const check = () => void bot.ctx.queue.getCompletedCount().then(n => n >= count && resolve());
      events.on("completed", check);
      check();
    });
    await done;
  } finally {
    await events.close();
    connection.disconnect();
  }
}
/** The worker's private follow-up to an interaction (a refusal), checked to be private and ping-free; its text. */
async function privateFollowUp(raw: { token: string }): Promise<string> {
  const followUp = await flow.discord.waitFor(
    r => r.method === "POST" && r.path === `/webhooks/${APPLICATION_ID}/${raw.token}`,
  );
  expect(followUp.body).toMatchObject({ flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } });
  return String(followUp.body?.content);
}
/** Once the job is done, the member holds no queue place for it. */
async function expectPlaceFreed(
  bot: TestBot,
  raw: { guild_id: string; member: { user: { id: string } } },
): Promise<void> {
  await completedJobs(bot, 1);
  const pending = new RedisKeys(bot.ctx.config.queue.prefix).pending(raw.guild_id, raw.member.user.id);
  expect(await bot.redis.zcard(pending)).toBe(0);
}
const buttonIds = (r: RecordedRequest) =>
  (r.body!.components as Array<{ components: Array<{ custom_id: string; label: string }> }>)[0]!.components;

describe("/weird", () => {
  it("defers, queues, streams edits and ends with the result and its buttons", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = slashWeird({ prompt: "Once upon a time", temp: -0.001, maxTokens: 300, seed: 42 });
    flow.bot.inject(raw);

    const final = await finalFor(raw.token);
    const callbacks = flow.discord.find("POST", callbackOf(raw));
    expect(callbacks.map(c => c.body?.type)).toEqual([5]); // deferred channel message
    const edits = flow.discord.find("PATCH", originalOf(raw.token));
    expect(edits[0]!.body?.content).toMatch(
      /^Queued at \*\*T = -0.001 · β = -1000\*\* \(seed 42\): next in the queue\.$/,
    );
    const progress = edits.filter(e => String(e.body?.content).includes("generating…"));
    expect(progress.length).toBeGreaterThan(0);
    expect(edits.indexOf(final)).toBe(edits.length - 1);

    // The anti-greedy chain is the model's least likely text: its weirdness is far above 1 nat per token.
    expect(final.body?.content).toMatch(
      /^\*\*T = -0\.001 · β = -1000\*\* · 300 tokens \(max tokens\) · weirdness (\d\d\.\d\d) · stories260K\\\.gguf · seed 42\n/,
    );
    expect(final.body?.content).toContain("> Once upon a time");
    expect(final.body?.content).toContain("|".repeat(300));
    const [vote, reroll, flip] = buttonIds(final);
    expect(vote).toMatchObject({ label: "Weird! · 0" });
    expect(vote!.custom_id).toMatch(/^vote:[\w-]+$/);
    expect(reroll!.custom_id).toMatch(/^reroll:/);
    expect(flip).toMatchObject({ label: "Flip to T = 0.001" });
    for (const edit of edits) expect(edit.body?.allowed_mentions).toEqual({ parse: [] });

    // The final message goes out just before the job is marked complete.
    await completedJobs(flow.bot, 1);
    const outputId = vote!.custom_id.slice("vote:".length);
    const record = await flow.bot.ctx.outputs.get(outputId);
    expect(record).toMatchObject({
      prompt: "Once upon a time",
      temperature: -0.001,
      seed: 42,
      model: "stories260K.gguf",
      channelId: CHANNEL_ID,
      text: "|".repeat(300),
      messageId: `original-${raw.token}`,
    });
    // The weirdness score is kept for the leaderboards: "|" is stories260K's least likely piece.
    expect(record!.surprisal).toBeGreaterThan(10);
    const [onBoard] = await flow.bot.ctx.community.weirdest(raw.guild_id, { period: "day", by: "weirdness" });
    expect(onBoard).toMatchObject({ outputId, votes: 0 });
    expect(
      await flow.bot.redis.zcard(
        new RedisKeys(flow.bot.ctx.config.queue.prefix).pending(raw.guild_id, raw.member.user.id),
      ),
    ).toBe(0);
    const [job] = await flow.bot.ctx.queue.getJobs(["completed"]);
    expect(job!.progress).toEqual({ tokens: 300, of: 300, done: true });
  });

  it("tells each user their place in the queue", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raws = ["1", "2", "3"].map(n => slashWeird({ prompt: "Hi", userId: `80000000000000001${n}` }));
    for (const raw of raws) {
      flow.bot.inject(raw);
      await flow.discord.waitFor(r => r.method === "PATCH" && originalOf(raw.token).test(r.path));
    }
    const places = raws.map(raw =>
      String(flow.discord.find("PATCH", originalOf(raw.token))[0]!.body?.content).replace(/^.*: /, ""),
    );
    expect(places).toEqual(["next in the queue.", "#2 in the queue.", "#3 in the queue."]);
  });

  it("enforces the per-user cooldown privately, and the server and global caps", async () => {
    flow.bot = await startBot(
      botConfig(flow.discord.url, flow.prefix, { cooldownMs: 60_000, maxPerGuild: 2, maxTotal: 3 }),
    );
    const first = slashWeird({ prompt: "a", userId: "800000000000000021" });
    const again = slashWeird({ prompt: "b", userId: "800000000000000021" });
    flow.bot.inject(first);
    await flow.discord.waitFor(r => originalOf(first.token).test(r.path));
    flow.bot.inject(again);
    const refusal = await flow.discord.waitFor(r => callbackOf(again).test(r.path));
    expect(refusal.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } },
    });
    expect((refusal.body!.data as { content: string }).content).toMatch(
      /^Easy there: you can ask again in (59|60) s\.$/,
    );

    const second = slashWeird({ prompt: "c", userId: "800000000000000022" });
    flow.bot.inject(second);
    await flow.discord.waitFor(r => originalOf(second.token).test(r.path));
    const third = slashWeird({ prompt: "d", userId: "800000000000000023" });
    flow.bot.inject(third);
    const full = await flow.discord.waitFor(r => callbackOf(third).test(r.path));
    expect((full.body!.data as { content: string }).content).toBe(
      "This server's queue is full (2 of 2 generations waiting or running). Please try again in a minute.",
    );
    // The global cap counts every server's jobs.
    flow.bot.ctx.config.queue.maxTotal = 2;
    const elsewhere = { ...slashWeird({ prompt: "e", userId: "800000000000000024" }), guild_id: "900000000000000009" };
    flow.bot.inject(elsewhere);
    const globalFull = await flow.discord.waitFor(r => callbackOf(elsewhere).test(r.path));
    expect((globalFull.body!.data as { content: string }).content).toBe(
      "The queue is full (2 generations waiting or running). Please try again in a minute.",
    );
    // Refused users are not put on cooldown: they may try again as soon as there is room.
    expect(await flow.bot.redis.exists(`${flow.prefix}:cooldown:${GUILD_ID}:800000000000000023`)).toBe(0);
    // Each server sets its own cooldown, so one server's does not hold the member back elsewhere.
    flow.bot.ctx.config.queue.maxTotal = 50;
    const dm = slashWeird({ prompt: "f", userId: "800000000000000021" });
    flow.bot.inject(inDirectMessages(dm));
    await flow.discord.waitFor(r => originalOf(dm.token).test(r.path));
  });

  it("gives back the queue place and the cooldown when Discord refuses the deferred reply", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { cooldownMs: 60_000 }));
    const raw = slashWeird({ prompt: "a", userId: "800000000000000031" });
    flow.discord.failures.push({
      match: r => callbackOf(raw).test(r.path),
      status: 404,
      body: { message: "Unknown interaction", code: 10062 },
      times: 1,
    });
    flow.bot.inject(raw);
    await flow.discord.waitFor(r => callbackOf(raw).test(r.path));
    await expect
      .poll(() =>
        flow.bot!.redis.zcard(new RedisKeys(flow.bot!.ctx.config.queue.prefix).pending(GUILD_ID, "800000000000000031")),
      )
      .toBe(0);
    await expect.poll(() => flow.bot!.redis.exists(`${flow.prefix}:cooldown:${GUILD_ID}:800000000000000031`)).toBe(0);
    expect(await flow.bot.ctx.queue.count()).toBe(0);
  });

  it("gives back the place and the cooldown Redis takes after the member was told it is unavailable", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { cooldownMs: 60_000 }));
    const member = "800000000000000032";
    const places = () =>
      flow.bot!.redis.zcard(new RedisKeys(flow.bot!.ctx.config.queue.prefix).pending(GUILD_ID, member));
    // Writes wait 3 s: past the bot's deadlines, after which Redis still carries them out.
    const { ended: pauseOver } = await pauseRedisWrites(3000);
    const raw = slashWeird({ prompt: "a", userId: member });
    flow.bot.inject(raw);
    const refused = await flow.discord.waitFor(r => callbackOf(raw).test(r.path), 5000);
    expect(refused.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: QUEUE_UNAVAILABLE, flags: MessageFlags.Ephemeral },
    });
    await pauseOver;
    await expect.poll(() => flow.bot!.redis.exists(`${flow.prefix}:cooldown:${GUILD_ID}:${member}`)).toBe(0);
    expect(await places()).toBe(0);
    // Told to try again, the member can: no cooldown, and the place is free.
    const again = slashWeird({ prompt: "b", userId: member });
    flow.bot.inject(again);
    expect((await flow.discord.waitFor(r => callbackOf(again).test(r.path))).body?.type).toBe(
      InteractionResponseType.DeferredChannelMessageWithSource,
    );
    expect(await places()).toBe(1);
  });

  it("a late give-back never ends the cooldown of the member's earlier request", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { cooldownMs: 60_000 }));
    const member = "800000000000000033";
    const cooldown = `${flow.prefix}:cooldown:${GUILD_ID}:${member}`;
    const first = slashWeird({ prompt: "a", userId: member });
    flow.bot.inject(first);
    await flow.discord.waitFor(r => originalOf(first.token).test(r.path));
    const held = await flow.bot.redis.get(cooldown);
    // A second request while Redis stalls: its cooldown check times out in the bot, so it is
    // given back — but the cooldown there is the first request's.
    const { ended: pauseOver } = await pauseRedisWrites(3000);
    const stalled = slashWeird({ prompt: "b", userId: member });
    flow.bot.inject(stalled);
    expect(
      ((await flow.discord.waitFor(r => callbackOf(stalled).test(r.path), 5000)).body?.data as { content: string })
        .content,
    ).toBe(QUEUE_UNAVAILABLE);
    await pauseOver;
    await new Promise(resolve => setTimeout(resolve, 300));
    expect(await flow.bot.redis.get(cooldown)).toBe(held);
    const third = slashWeird({ prompt: "c", userId: member });
    flow.bot.inject(third);
    expect(
      ((await flow.discord.waitFor(r => callbackOf(third).test(r.path))).body?.data as { content: string }).content,
    ).toMatch(/^Easy there: you can ask again in \d+ s\.$/);
  });

  it("holds the server cap when many requests arrive at once", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { maxPerGuild: 3 }));
    const raws = Array.from({ length: 10 }, (_, i) =>
      slashWeird({ prompt: "x", userId: String(800000000000000100n + BigInt(i)) }),
    );
    raws.forEach(raw => flow.bot!.inject(raw));
    const answers = await Promise.all(raws.map(raw => flow.discord.waitFor(r => callbackOf(raw).test(r.path))));
    expect(answers.filter(a => a.body?.type === InteractionResponseType.DeferredChannelMessageWithSource)).toHaveLength(
      3,
    );
    expect(answers.filter(a => a.body?.type === InteractionResponseType.ChannelMessageWithSource)).toHaveLength(7);
    await flow.discord.waitFor(() => flow.discord.requests.filter(r => r.method === "PATCH").length === 3);
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(await flow.bot.ctx.queue.getJobCountByTypes("waiting", "prioritized")).toBe(3);
  });

  it("answers invalid options privately and queues nothing", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = slashWeird({ prompt: "   ", temp: -1 });
    flow.bot.inject(raw);
    const reply = await flow.discord.waitFor(r => callbackOf(raw).test(r.path));
    expect(reply.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: "The prompt is empty.", flags: MessageFlags.Ephemeral },
    });
    expect(await flow.bot.ctx.queue.getJobCountByTypes("waiting", "prioritized")).toBe(0);
  });

  it.each([
    ["a seed below 0", { seed: -1 }, "Seed must be a whole number from 0 to 4294967295, got -1."],
    ["a seed above 2³²−1", { seed: 2 ** 32 }, "Seed must be a whole number from 0 to 4294967295, got 4294967296."],
    ["a fractional seed", { seed: 1.5 }, "Seed must be a whole number from 0 to 4294967295, got 1.5."],
    ["max tokens past the cap", { maxTokens: 100_000 }, "Max tokens must be a whole number from 1 to 512, got 100000."],
    ["max tokens of 0", { maxTokens: 0 }, "Max tokens must be a whole number from 1 to 512, got 0."],
    ["T past the bound", { temp: 1e9 }, "Temperature must be between -100 and 100, got 1000000000."],
    [
      "a prompt past the length limit",
      { prompt: "x".repeat(7000) },
      "The prompt is 7000 characters long; the limit is 2000.",
    ],
  ])("refuses %s privately at the bot, whatever the client let through", async (_case, options, message) => {
    // Discord's own min/max/length are checked by its clients, not by every proxy or client.
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = slashWeird({ prompt: "Once upon a time", ...options });
    flow.bot.inject(raw);
    const reply = await flow.discord.waitFor(r => callbackOf(raw).test(r.path));
    expect(reply.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: message, flags: MessageFlags.Ephemeral },
    });
    expect(await flow.bot.ctx.queue.count()).toBe(0);
  });

  it("refuses a prompt too long for the worker's context privately, and frees its queue place", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    // 2,000 characters of markdown symbols are ~2,000 tokens: more than the test engine's context.
    const raw = slashWeird({ prompt: "#*_~`|>-[](){}".repeat(143).slice(0, 2000), maxTokens: 8 });
    flow.bot.inject(raw);
    expect(await privateFollowUp(raw)).toMatch(
      /^Sorry, that can't be generated: The prompt \\\(\d+ tokens\\\) plus 8 new tokens does not fit the \d+\\-token context\\\.$/,
    );
    await flow.discord.waitFor(r => r.method === "DELETE" && originalOf(raw.token).test(r.path));
    // Nothing about it in public: the "queued" reply is gone and never said "failed".
    expect(flow.discord.find("PATCH", originalOf(raw.token)).map(r => String(r.body?.content))).not.toContainEqual(
      expect.stringMatching(/Sorry/),
    );
    await expectPlaceFreed(flow.bot, raw);
  });

  it("checks the member's permission in the handler, not only in the command's defaults", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = slashWeird({ prompt: "hi", permissions: "0" });
    flow.bot.inject(raw);
    const reply = await flow.discord.waitFor(r => callbackOf(raw).test(r.path));
    expect(reply.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: {
        content: "You can't post messages in this channel, so /weird can't either.",
        flags: MessageFlags.Ephemeral,
      },
    });
    expect(await flow.bot.ctx.queue.getJobCountByTypes("waiting", "prioritized")).toBe(0);
  });

  it("never lets a prompt full of mentions ping anyone", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = slashWeird({ prompt: "@everyone @here <@123456789012345678> <@&223456789012345678> hi", maxTokens: 8 });
    flow.bot.inject(raw);
    const final = await finalFor(raw.token);
    for (const request of flow.discord.requests.filter(r => r.body && r.method !== "POST"))
      expect(request.body?.allowed_mentions).toEqual({ parse: [] });
    expect(final.body?.content).toContain(
      "> \\@everyone \\@here \\<\\@123456789012345678\\> \\<\\@&223456789012345678\\> hi",
    );
  });

  it("/weird-help explains negative temperature privately", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = slashCommand("weird-help");
    flow.bot.inject(raw);
    const reply = await flow.discord.waitFor(r => callbackOf(raw).test(r.path));
    expect(reply.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { flags: MessageFlags.Ephemeral },
    });
    expect((reply.body!.data as { content: string }).content).toMatch(/β = 1\/T[\s\S]*least\* likely/);
  });
});

describe("buttons", () => {
  async function firstResult(temp: number) {
    const raw = slashWeird({ prompt: "Once upon a time", temp, maxTokens: 12, seed: 7 });
    flow.bot!.inject(raw);
    const final = await finalFor(raw.token);
    return buttonIds(final);
  }

  it("vote toggles the member's vote and shows the count on the label", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const [vote] = await firstResult(-1);
    const labels: string[] = [];
    for (const userId of ["800000000000000031", "800000000000000032", "800000000000000031"]) {
      const press = buttonPress(vote!.custom_id, { userId });
      flow.bot.inject(press);
      const update = await flow.discord.waitFor(r => callbackOf(press).test(r.path));
      expect(update.body?.type).toBe(7); // update the message the button is on
      labels.push(
        (update.body!.data as { components: Array<{ components: Array<{ label: string }> }> }).components[0]!
          .components[0]!.label,
      );
    }
    expect(labels).toEqual(["Weird! · 1", "Weird! · 2", "Weird! · 1"]);
  });

  it("reroll queues the same prompt and T with a new seed; flip queues it at −T; each result is a new message", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const [, reroll, flip] = await firstResult(-1);
    for (const [button, expected] of [
      [reroll!, "T = -1 · β = -1"],
      [flip!, "T = 1 · β = 1"],
    ] as const) {
      const press = buttonPress(button.custom_id);
      flow.bot.inject(press);
      const final = await finalFor(press.token);
      expect(flow.discord.find("POST", callbackOf(press)).map(c => c.body?.type)).toEqual([5]);
      expect(final.body?.content).toContain(`**${expected}**`);
      expect(final.body?.content).toContain("> Once upon a time");
      expect(final.body?.content).not.toMatch(/seed 7\n/);
    }
  });

  it("a schedule: shown with β and where it crosses zero, stored with the output, flipped as a whole", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = slashWeird({ prompt: "Once upon a time", schedule: "1..-1", maxTokens: 20, seed: 9 });
    flow.bot.inject(raw);
    const final = await finalFor(raw.token);
    expect(final.body?.content).toMatch(
      /^\*\*schedule 1\.\.-1\*\* · T = 1 → −1 \(β = 1 → −1, crosses zero at token 11\) · 20 tokens \(max tokens\) · weirdness \d+\.\d\d · /,
    );
    const [, , flip] = buttonIds(final);
    expect(flip!.label).toBe("Flip to -1..1");
    const outputId = flip!.custom_id.split(":")[1]!;
    expect((await flow.bot.ctx.outputs.get(outputId))?.schedule).toEqual({ kind: "anneal", from: 1, to: -1 });
    // The same request again gives the same text: the schedule is reproducible from the seed.
    const again = slashWeird({
      prompt: "Once upon a time",
      schedule: "1..-1",
      maxTokens: 20,
      seed: 9,
      userId: "800000000000000002",
    });
    flow.bot.inject(again);
    const second = await finalFor(again.token);
    const textOf = (r: RecordedRequest) => String(r.body?.content).split("```")[1];
    expect(textOf(second)).toBe(textOf(final));

    const press = buttonPress(flip!.custom_id);
    flow.bot.inject(press);
    const flipped = await finalFor(press.token);
    expect(flipped.body?.content).toMatch(/^\*\*schedule -1\.\.1\*\* · T = −1 → 1 /);
  });

  it.each([
    [
      "a schedule past the grammar",
      { schedule: "1.." },
      /^"1\.\." is not a schedule\. Write A\.\.B .* e\.g\. 1\.\.-1 or 0\.8\/-0\.001@4\.$/,
    ],
    ["temp and a schedule at once", { temp: 1, schedule: "1..-1" }, /^Give temp or schedule, not both/],
    [
      "a schedule past the bound",
      { schedule: "1/-500@2" },
      /^The every-Nth temperature of the schedule: Temperature must be between -100 and 100/,
    ],
  ])("refuses %s privately and queues nothing", async (_case, options, message) => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = slashWeird({ prompt: "Once upon a time", ...options });
    flow.bot.inject(raw);
    const reply = await flow.discord.waitFor(r => callbackOf(raw).test(r.path));
    expect(reply.body?.data).toMatchObject({ flags: MessageFlags.Ephemeral });
    expect(String((reply.body?.data as { content: string }).content)).toMatch(message);
    expect(await flow.bot.ctx.queue.count()).toBe(0);
  });

  it("a vocabulary: below zero only printable ASCII is sampled, shown and stored, kept by reroll and flip", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = slashWeird({ prompt: "Once upon a time", temp: -1, vocab: "ascii", maxTokens: 40, seed: 5 });
    flow.bot.inject(raw);
    const final = await finalFor(raw.token);
    const queued = flow.discord.find("PATCH", originalOf(raw.token))[0]!;
    expect(queued.body?.content).toMatch(/^Queued at \*\*T = -1 · β = -1\*\* · vocab ascii \(seed 5\)/);
    expect(final.body?.content).toMatch(
      /^\*\*T = -1 · β = -1\*\* · 40 tokens \(max tokens\) · weirdness \d+\.\d\d · vocab ascii · /,
    );
    const [, , flip] = buttonIds(final);
    const outputId = flip!.custom_id.split(":")[1]!;
    const record = await flow.bot.ctx.outputs.get(outputId);
    expect(record?.vocab).toBe("ascii");
    expect(record?.text).toMatch(/^[\x20-\x7E\t\n\r]+$/);
    // Without the vocabulary the same seed samples outside ASCII: the limit is what made it ASCII.
    const free = slashWeird({
      prompt: "Once upon a time",
      temp: -1,
      maxTokens: 40,
      seed: 5,
      userId: "800000000000000002",
    });
    flow.bot.inject(free);
    const freeText = String((await finalFor(free.token)).body?.content).split("```")[1];
    expect(freeText).not.toMatch(/^[\x20-\x7E\t\n\r]+$/);

    const press = buttonPress(flip!.custom_id);
    flow.bot.inject(press);
    const flipped = await finalFor(press.token);
    expect(flipped.body?.content).toMatch(/^\*\*T = 1 · β = 1\*\* · .* · vocab ascii · /);
  });

  it("a server's vocabulary is the default, and the member's option wins over it", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    await flow.bot.ctx.settings.set(GUILD_ID, "800000000000000009", { setting: "vocab", value: "ascii" });
    const byServer = slashWeird({ prompt: "Once upon a time", temp: -1, maxTokens: 8, seed: 1 });
    flow.bot.inject(byServer);
    expect((await finalFor(byServer.token)).body?.content).toContain(" · vocab ascii · ");
    const byMember = slashWeird({
      prompt: "Once upon a time",
      temp: -1,
      vocab: "any",
      maxTokens: 8,
      seed: 1,
      userId: "800000000000000002",
    });
    flow.bot.inject(byMember);
    expect((await finalFor(byMember.token)).body?.content).not.toContain("vocab");
  });

  it("a vocabulary that leaves this model nothing to sample is refused privately, and frees the place", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    // stories260K's 512 tokens are English: none of them spells Greek.
    const raw = slashWeird({ prompt: "Once upon a time", temp: -1, vocab: "greek", maxTokens: 8 });
    flow.bot.inject(raw);
    expect(await privateFollowUp(raw)).toMatch(
      /^Sorry, that can't be generated: The greek vocabulary leaves nothing to sample with stories260K.*Choose another vocabulary/,
    );
    await expectPlaceFreed(flow.bot, raw);
  });

  it("refuses a vocabulary that is not one privately (a client past the choices), and queues nothing", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = slashWeird({ prompt: "Once upon a time", vocab: "klingon" });
    flow.bot.inject(raw);
    const reply = await flow.discord.waitFor(r => callbackOf(raw).test(r.path));
    expect(reply.body?.data).toMatchObject({ flags: MessageFlags.Ephemeral });
    expect(String((reply.body?.data as { content: string }).content)).toMatch(
      /^Vocabulary must be one of any, ascii, latin, .*, got "klingon"\.$/,
    );
    expect(await flow.bot.ctx.queue.count()).toBe(0);
  });

  it("Why weird? answers privately with a chart of the output's tokens", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const raw = slashWeird({ prompt: "Once upon a time", schedule: "0.8/-0.001@4", maxTokens: 32, seed: 3 });
    flow.bot.inject(raw);
    const final = await finalFor(raw.token);
    const why = buttonIds(final)[3]!;
    expect(why.label).toBe("Why weird?");
    const outputId = why.custom_id.split(":")[1]!;
    const record = await flow.bot.ctx.outputs.get(outputId);
    expect(record?.tokenTexts).toHaveLength(32);
    expect(record?.tokenTexts?.join("")).toBe(record?.text);
    // Every fourth token is the model's least likely one: its surprisal is far above the others'.
    const accents = record!.tokenSurprisals!.filter((_, i) => (i + 1) % 4 === 0);
    const others = record!.tokenSurprisals!.filter((_, i) => (i + 1) % 4 !== 0);
    expect(Math.min(...accents)).toBeGreaterThan(Math.max(...others));

    const press = buttonPress(why.custom_id);
    flow.bot.inject(press);
    const edit = await flow.discord.waitFor(r => r.method === "PATCH" && originalOf(press.token).test(r.path));
    expect(flow.discord.find("POST", callbackOf(press)).map(c => c.body)).toEqual([
      { type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: MessageFlags.Ephemeral } },
    ]);
    expect(edit.files).toEqual([{ name: `belowzero-why-${outputId}.png`, data: expect.stringContaining("PNG") }]);
    expect(edit.body?.allowed_mentions).toEqual({ parse: [] });
  });

  it("reroll and flip check the member may post in the channel, as /weird does", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const [, reroll, flip] = await firstResult(-1);
    await completedJobs(flow.bot, 1);
    for (const button of [reroll!, flip!]) {
      const press = buttonPress(button.custom_id, { permissions: "0" });
      flow.bot.inject(press);
      const reply = await flow.discord.waitFor(r => callbackOf(press).test(r.path));
      expect(reply.body).toMatchObject({
        type: InteractionResponseType.ChannelMessageWithSource,
        data: {
          content: "You can't post messages in this channel, so this button can't either.",
          flags: MessageFlags.Ephemeral,
        },
      });
    }
    expect(await flow.bot.ctx.queue.count()).toBe(0);
  });

  it("a button for an output that is not on record answers privately", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const press = buttonPress("reroll:no-such-output");
    flow.bot.inject(press);
    const reply = await flow.discord.waitFor(r => callbackOf(press).test(r.path));
    expect(reply.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: "That output is no longer on record.", flags: MessageFlags.Ephemeral },
    });
  });
});

describe("when things go wrong", () => {
  it("Redis down at command time: a clear private answer, and the bot keeps running", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, {}, "redis://127.0.0.1:1"), false);
    const raw = slashWeird({ prompt: "hello" });
    flow.bot.inject(raw);
    const reply = await flow.discord.waitFor(r => callbackOf(raw).test(r.path), 5000);
    expect(reply.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: QUEUE_UNAVAILABLE, flags: MessageFlags.Ephemeral },
    });
    const help = slashCommand("weird-help");
    flow.bot.inject(help);
    await flow.discord.waitFor(r => callbackOf(help).test(r.path), 5000);
  });

  it("Redis going away and coming back: refused while down, queued again once it returns", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const startRedis = () =>
      spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore",
      });
    const waitUntil = async (condition: () => boolean) => {
      for (let i = 0; i < 200 && !condition(); i++) await new Promise(resolve => setTimeout(resolve, 50));
      expect(condition()).toBe(true);
    };
    let redis = startRedis();
    try {
      flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, {}, `redis://127.0.0.1:${port}`));
      redis.kill("SIGKILL");
      await waitUntil(() => !flow.bot!.ctx.redisReady());
      const whileDown = slashWeird({ prompt: "hello" });
      flow.bot.inject(whileDown);
      const refused = await flow.discord.waitFor(r => callbackOf(whileDown).test(r.path), 5000);
      expect(refused.body).toMatchObject({
        type: InteractionResponseType.ChannelMessageWithSource,
        data: { content: QUEUE_UNAVAILABLE },
      });

      redis = startRedis();
      await waitUntil(() => flow.bot!.ctx.redisReady());
      // Like a user, try again a few times: the first command may race the reconnection.
      let queued;
      for (let attempt = 0; attempt < 5 && !queued; attempt++) {
        const afterwards = slashWeird({ prompt: "hello again" });
        flow.bot.inject(afterwards);
        const answer = await flow.discord.waitFor(
          r => callbackOf(afterwards).test(r.path) || originalOf(afterwards.token).test(r.path),
          5000,
        );
        if (answer.body?.type === InteractionResponseType.DeferredChannelMessageWithSource)
          queued = await flow.discord.waitFor(r => originalOf(afterwards.token).test(r.path), 5000);
        else await new Promise(resolve => setTimeout(resolve, 300));
      }
      expect(queued?.body?.content).toMatch(/^Queued at/);
    } finally {
      redis.kill("SIGKILL");
    }
  });

  it("an expired interaction token: the result is posted as a channel message instead", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = slashWeird({ prompt: "Once upon a time", maxTokens: 40, at: Date.now() - 20 * 60 * 1000 });
    flow.bot.inject(raw);
    await flow.discord.waitFor(r => originalOf(raw.token).test(r.path));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { editIntervalMs: 5 });
    const final = await flow.discord.waitFor(r => /^\/channels\/\d+\/messages(\/\d+)?$/.test(r.path) && isFinal(r));
    const posts = flow.discord.find("POST", new RegExp(`^/channels/${CHANNEL_ID}/messages$`));
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toMatchObject({ enforce_nonce: true, allowed_mentions: { parse: [] } });
    expect(final.body?.content).toContain("|".repeat(40));
    expect(flow.discord.find("PATCH", originalOf(raw.token))).toHaveLength(1); // only the bot's "queued" edit
  });

  it("retries Discord 429 (honouring retry-after) and 5xx, then delivers", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { editIntervalMs: 60_000 });
    const raw = slashWeird({ prompt: "Once", maxTokens: 5 });
    const finalEdit = (r: RecordedRequest) => r.method === "PATCH" && originalOf(raw.token).test(r.path) && isFinal(r);
    flow.discord.failures.push(
      {
        match: finalEdit,
        status: 429,
        body: { message: "You are being rate limited.", retry_after: 0.3, global: false },
        headers: { "retry-after": "0.3" },
        times: 1,
      },
      { match: finalEdit, status: 502, times: 1 },
    );
    flow.bot.inject(raw);
    const started = Date.now();
    await flow.discord.waitFor(
      r => finalEdit(r) && flow.discord.find("PATCH", originalOf(raw.token)).filter(isFinal).length === 3,
    );
    const attempts = flow.discord.find("PATCH", originalOf(raw.token)).filter(isFinal);
    expect(attempts).toHaveLength(3);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("a permanent Discord error fails the job once, with a log line, and the worker keeps serving", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { editIntervalMs: 60_000 });
    const doomed = slashWeird({ prompt: "Once", maxTokens: 3 });
    flow.discord.failures.push({
      match: r => r.path.includes(doomed.token) && isFinal(r),
      status: 403,
      body: { message: "Missing Access", code: 50001 },
      times: 10,
    });
    flow.bot.inject(doomed);
    await flow.discord.waitFor(r => r.path.includes(doomed.token) && isFinal(r));
    const fine = slashWeird({ prompt: "Once", maxTokens: 3 });
    flow.bot.inject(fine);
    await finalFor(fine.token);
    const [failed] = await flow.bot.ctx.queue.getJobs(["failed"]);
    expect(failed!.failedReason).toBe("Discord refused the result (403 Missing Access)");
    expect(failed!.attemptsMade).toBe(1);
    expect(flow.discord.find("PATCH", originalOf(doomed.token)).filter(isFinal)).toHaveLength(1);
    expect(
      flow.worker.logs.some(line => line.includes("failed: Discord refused the result (403 Missing Access)")),
    ).toBe(true);
    expect(flow.worker.logs.join("\n")).not.toContain(doomed.token); // tokens never reach the logs
  });

  it("a job that fails validation in the worker tells its member and frees its queue place", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    // A job as an older or buggy bot would have queued it: its place taken, its seed out of range.
    const raw = slashWeird({ prompt: "Once upon a time" });
    const userId = raw.member.user.id;
    const caps = { maxPerGuild: 5, maxTotal: 50 };
    expect(await flow.bot.ctx.throttle.claimPlace(GUILD_ID, userId, "bad-seed", caps)).toMatchObject({ ok: true });
    await flow.bot.ctx.queue.add(
      "weird",
      {
        applicationId: APPLICATION_ID,
        interactionToken: raw.token,
        interactionAt: Date.now(),
        guildId: GUILD_ID,
        channelId: CHANNEL_ID,
        userId,
        prompt: "Once upon a time",
        temperature: -1,
        maxTokens: 8,
        seed: -1,
      },
      { jobId: "bad-seed", attempts: 3 },
    );
    const notice = await flow.discord.waitFor(r => r.method === "PATCH" && originalOf(raw.token).test(r.path));
    expect(notice.body?.content).toBe(
      "Sorry, this generation failed: Malformed job\\: Seed must be a whole number from 0 to 4294967295, got \\-1\\.",
    );
    expect(notice.body?.allowed_mentions).toEqual({ parse: [] });
    expect(await flow.bot.redis.zcard(new RedisKeys(flow.bot.ctx.config.queue.prefix).pending(GUILD_ID, userId))).toBe(
      0,
    );
  });

  it("a malformed job fails with a clear reason and the worker keeps serving", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const bad = await flow.bot.ctx.queue.add("weird", { prompt: 42 }, { attempts: 3 });
    const raw = slashWeird({ prompt: "Once upon a time", maxTokens: 4 });
    flow.bot.inject(raw);
    await finalFor(raw.token);
    const failed = await flow.bot.ctx.queue.getJob(bad.id!);
    expect(await failed!.getState()).toBe("failed");
    expect(failed!.failedReason).toBe("Malformed job: applicationId must be a string");
    expect(failed!.attemptsMade).toBe(1); // not retried: it can never succeed
  });
});

describe("a worker killed mid-job", () => {
  it("the job is picked up again and the user gets exactly one final result", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const raw = slashWeird({ prompt: "Once upon a time", temp: -1, maxTokens: 50, seed: 5 });
    // Hold the first streaming edit, so the doomed worker is certainly mid-job when killed.
    flow.discord.failures.push({
      match: r => r.method === "PATCH" && String(r.body?.content).includes("generating…"),
      status: 200,
      delayMs: 3000,
      times: 1,
    });
    const root = resolve(import.meta.dirname, "../..");
    // node --import tsx keeps it one process: SIGKILL must hit the worker itself, not a wrapper.
    const doomed = spawn(process.execPath, ["--import", "tsx", join(root, "test/helpers/workerProcess.ts")], {
      env: {
        ...process.env,
        BZ_API_URL: flow.discord.url,
        BZ_PREFIX: flow.prefix,
        BZ_LOCK_MS: "1500",
        BZ_CACHE_DIR: temporaryFolder(),
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise(resolve => doomed.stdout.once("data", resolve));
    flow.bot.inject(raw);
    await flow.discord.waitFor(r => String(r.body?.content).includes("generating…"));
    const killedAt = Date.now();
    doomed.kill("SIGKILL");
    await new Promise(resolve => doomed.once("exit", resolve));

    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { stalledIntervalMs: 500 });
    const final = await finalFor(raw.token);
    await new Promise(resolve => setTimeout(resolve, 1500)); // time for any duplicate to show up
    expect(flow.discord.find("PATCH", originalOf(raw.token)).filter(isFinal)).toEqual([final]);
    expect(final.at).toBeGreaterThan(killedAt); // delivered by the second worker
    expect(final.body?.content).toContain("seed 5");
  }, 60_000);
});

describe("long output", () => {
  it("is cut to fit the message and attached in full as a text file", async () => {
    const roomy = await loadTestEngine({ contextSize: 2048, limits: { maxTokensCap: 2000 } });
    const config = botConfig(flow.discord.url, flow.prefix);
    flow.bot = await startBot({ ...config, limits: { ...config.limits, maxTokensCap: 2000 } });
    flow.worker = startWorker(roomy, flow.discord.url, flow.prefix);
    // "|" is one character per token; 2000 of them cannot fit next to the header.
    const raw = slashWeird({ prompt: "Once upon a time", temp: -0.001, maxTokens: 2000 });
    flow.bot.inject(raw);
    const final = await finalFor(raw.token, 55_000); // 2,000 tokens take a while on a busy machine
    await flow.worker.close();
    flow.worker = undefined;
    await roomy.dispose();
    expect(String(final.body?.content).length).toBeLessThanOrEqual(2000);
    expect(final.body?.attachments).toEqual([{ id: 0, filename: expect.stringMatching(/^belowzero-.+\.txt$/) }]);
    expect(final.files).toEqual([{ name: expect.stringMatching(/^belowzero-.+\.txt$/), data: "|".repeat(2000) }]);
  });
});
