// Where belowzero is not a member (a member's own install in someone else's server, a group
// DM): results arrive through the interaction's token only, within its window, and an output
// that missed it stays the member's to find. Real bot, queue, worker and fake Discord.
import { describe, expect, it } from "vitest";
import { ApplicationCommandOptionType, MessageFlags } from "discord.js";
import type { WeirdJob } from "../../src/job.js";
import { NOT_YOURS } from "../../src/commands/weirdMine.js";
import { COMPARE_NEEDS_MEMBER } from "../../src/commands/weirdCompare.js";
import type { OutputRecord } from "../../src/store/outputs.js";
import { stopGeneratingBy } from "../../src/job.js";
import { QUEUE_NAME } from "../../src/store/keys.js";
import { ModelRegistry } from "../../src/store/models.js";
import { TOO_LATE_TO_START } from "../../src/worker/worker.js";
import type { ContextPool } from "../../src/engine/contextPool.js";
import { useFlow } from "../helpers/flow.js";
import type { RecordedRequest } from "../helpers/fakeDiscord.js";
import {
  APPLICATION_ID,
  botConfig,
  buttonPress,
  callbackOf,
  CHANNEL_ID,
  GUILD_ID,
  inDirectMessages,
  inGroupDm,
  isFinal,
  originalOf,
  slashCommand,
  slashWeird,
  startBot,
  firstWaitingJob,
  startWorker,
  userInstalled,
} from "../helpers/discordBot.js";

const flow = useFlow();

const finalFor = (token: string, timeoutMs?: number) =>
  flow.discord.waitFor(r => r.method === "PATCH" && originalOf(token).test(r.path) && isFinal(r), timeoutMs);
const followUpOf = (token: string) => (r: { method: string; path: string }) =>
  r.method === "POST" && r.path === `/webhooks/${APPLICATION_ID}/${token}`;
const channelRequests = () => flow.discord.requests.filter(r => r.path.startsWith("/channels/"));
const queuedJobs = async () =>
  (await flow.bot!.ctx.queue.getJobs(["waiting", "prioritized", "active", "completed"])).map(j => j.data as WeirdJob);

const queuedIds = async () =>
  (await flow.bot!.ctx.queue.getJobs(["waiting", "prioritized", "active", "completed"])).map(j => j.id!);

/** A worker of the shared queue that reports this speed, without taking jobs: the bot's estimate reads it. */
async function slowWorkerSays(tokensPerSecond: number): Promise<void> {
  await new ModelRegistry(flow.bot!.redis, flow.prefix).heartbeat({
    workerId: "slow-worker",
    id: "stories260K",
    queue: QUEUE_NAME,
    file: "stories260K.gguf",
    sizeBytes: 1,
    type: "llama",
    vocabularySize: 512,
    contextSize: 512,
    tokensPerSecond,
  });
}

describe("where belowzero is not a member", () => {
  it("answers through the token with a deadline, and never posts in the channel", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    flow.discord.channelsWithoutBot.add(CHANNEL_ID);
    const raw = userInstalled(slashWeird({ prompt: "Once upon a time" }));
    flow.bot.inject(raw);
    const final = await finalFor(raw.token);
    expect(String(final.body?.content)).toContain("Once upon a time");
    const [job] = await queuedJobs();
    expect(job!.deadline).toBe(job!.interactionAt + 870_000);
    expect(channelRequests()).toEqual([]);

    // Its buttons answer their own interactions there too: a reroll is queued with its own deadline.
    const [outputId] = await queuedIds();
    const reroll = userInstalled(buttonPress(`reroll:${outputId}`));
    flow.bot.inject(reroll);
    const rerolled = await finalFor(reroll.token);
    expect(String(rerolled.body?.content)).toContain("Once upon a time");
    const again = (await queuedJobs()).find(j => j.interactionToken === reroll.token)!;
    expect(again.deadline).toBe(again.interactionAt + 870_000);
    expect(channelRequests()).toEqual([]);

    // A group DM: no server at all, and the bot is not in the chat.
    const group = inGroupDm(slashWeird({ prompt: "Once upon a time" }));
    flow.discord.channelsWithoutBot.add(group.channel_id);
    flow.bot.inject(group);
    await finalFor(group.token);
    expect((await queuedJobs()).find(j => j.interactionToken === group.token)?.deadline).toBeGreaterThan(Date.now());
    expect(channelRequests()).toEqual([]);
  });

  it("keeps a result whose token died before it was ready, for /weird-mine, without a channel post", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.discord.channelsWithoutBot.add(CHANNEL_ID);
    const raw = userInstalled(slashWeird({ prompt: "Once upon a time", maxTokens: 16 }));
    flow.bot.inject(raw);
    await flow.discord.waitFor(r => originalOf(raw.token).test(r.path) && /Queued/.test(String(r.body?.content)));
    flow.discord.expiredTokens.add(raw.token); // as when Discord's 15 minutes are up
    const job = await firstWaitingJob(flow.bot);
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    await expect.poll(() => flow.worker!.logs.join("\n"), { timeout: 20_000 }).toMatch(/kept for \/weird-mine/);
    expect(await job.getState()).toBe("completed");
    const output = await flow.bot.ctx.outputs.get(job.id!);
    expect(output).toMatchObject({ messageId: "", prompt: "Once upon a time", authorId: raw.member.user.id });
    expect(channelRequests()).toEqual([]);
    // Its queue place is free again, and the member finds it in their own list.
    expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
    const mine = userInstalled(slashCommand("weird-mine"));
    flow.bot.inject(mine);
    const list = await flow.discord.waitFor(r => callbackOf(mine).test(r.path));
    expect(String((list.body?.data as { content: string }).content)).toMatch(
      /1 on record[\s\S]*never shown: its reply window closed first\n> Once upon a time/,
    );
  });

  it("goes on in a follow-up through the token when the member deleted the reply", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.discord.channelsWithoutBot.add(CHANNEL_ID);
    const raw = userInstalled(slashWeird({ prompt: "Once upon a time", maxTokens: 16 }));
    flow.bot.inject(raw);
    await flow.discord.waitFor(r => originalOf(raw.token).test(r.path) && /Queued/.test(String(r.body?.content)));
    // The member deletes the "Queued" reply: Discord answers its edits with Unknown Message.
    flow.discord.failures.push({
      match: r => r.method === "PATCH" && originalOf(raw.token).test(r.path),
      status: 404,
      body: { message: "Unknown Message", code: 10008 },
      times: 1000,
    });
    const job = await firstWaitingJob(flow.bot);
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    await expect
      .poll(async () => (await flow.bot!.ctx.outputs.get(job.id!))?.messageId, { timeout: 20_000 })
      .toMatch(/^\d+$/);
    const output = (await flow.bot.ctx.outputs.get(job.id!))!;
    const shown = flow.discord.messageById(output.messageId)!;
    expect(shown.content).toContain("Once upon a time");
    expect(shown.content).toContain(output.text.slice(0, 10));
    // One follow-up, edited from then on; never a channel post.
    expect(flow.discord.requests.filter(followUpOf(raw.token))).toHaveLength(1);
    expect(channelRequests()).toEqual([]);
    expect(flow.worker.logs.join("\n")).not.toMatch(/kept for \/weird-mine|failed/);
  });

  it("refuses privately, queueing nothing, when the queue could not let it start in time; warns when it may be cut", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { replyWindowMs: 60_000 }));
    await slowWorkerSays(1); // 1 token/s: each 32-token job ahead takes 32 s of the 50 s it has
    const serverJob = (userId: string) => slashWeird({ prompt: "Once upon a time", userId });
    flow.bot.inject(serverJob("800000000000000101"));
    await expect.poll(() => flow.bot!.ctx.queue.count()).toBe(1);

    // One job ahead: it can start (32 s) but not finish (64 s) in time: queued, and told privately.
    const maybe = userInstalled(slashWeird({ prompt: "Once upon a time", userId: "800000000000000102" }));
    flow.bot.inject(maybe);
    const warning = await flow.discord.waitFor(followUpOf(maybe.token));
    expect(warning.body).toMatchObject({ flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } });
    expect(String(warning.body?.content)).toMatch(/may be cut short to arrive in time .*\/weird-mine/);
    expect(await flow.bot.ctx.queue.count()).toBe(2);

    // Two jobs ahead (64 s): it could not even start. Nothing queued, no public reply, the place given back.
    const late = userInstalled(slashWeird({ prompt: "Once upon a time", userId: "800000000000000103" }));
    flow.bot.inject(late);
    const refusal = await flow.discord.waitFor(r => callbackOf(late).test(r.path));
    expect(refusal.body).toMatchObject({ type: 4, data: { flags: MessageFlags.Ephemeral } });
    expect(String((refusal.body!.data as { content: string }).content)).toMatch(
      /I.m not a member here .* about a minute, so it couldn't start in time, and nothing was queued/,
    );
    expect(await flow.bot.ctx.queue.count()).toBe(2);
    expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(2);
    // The refusal started no cooldown either: the member may try again at once.
    expect(await flow.bot.redis.exists(`${flow.prefix}:cooldown:${GUILD_ID}:800000000000000103`)).toBe(0);
  });

  it("refuses a comparison privately in a user install and a group DM, queueing nothing", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const compare = (userId: string) =>
      slashCommand("weird-compare", { userId }, [
        { name: "prompt", type: ApplicationCommandOptionType.String, value: "Once upon a time" },
        { name: "temp", type: ApplicationCommandOptionType.Number, value: -1 },
        { name: "temp2", type: ApplicationCommandOptionType.Number, value: 1 },
      ]);
    for (const raw of [userInstalled(compare("800000000000000111")), inGroupDm(compare("800000000000000112"))]) {
      flow.bot.inject(raw);
      const refusal = await flow.discord.waitFor(r => callbackOf(raw).test(r.path));
      expect(refusal.body).toMatchObject({
        type: 4,
        data: { content: COMPARE_NEEDS_MEMBER, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } },
      });
    }
    expect(await flow.bot.ctx.queue.count()).toBe(0);
    expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
  });

  it("does not start a job whose window closed while it waited, and says so through the token", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { replyWindowMs: 1500 }));
    flow.discord.channelsWithoutBot.add(CHANNEL_ID);
    const raw = userInstalled(slashWeird({ prompt: "Once upon a time" }));
    flow.bot.inject(raw);
    await flow.discord.waitFor(r => originalOf(raw.token).test(r.path) && /Queued/.test(String(r.body?.content)));
    const job = await firstWaitingJob(flow.bot);
    const data = job.data as WeirdJob;
    await new Promise(resolve =>
      setTimeout(resolve, stopGeneratingBy(data.interactionAt, data.deadline!) - Date.now()),
    );
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    // Told privately, as the bot's own refusal is; the public "Queued" reply removed.
    const notice = await flow.discord.waitFor(r => followUpOf(raw.token)(r) && r.body?.content === TOO_LATE_TO_START);
    expect(notice.body).toMatchObject({ flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } });
    await flow.discord.waitFor(r => r.method === "DELETE" && originalOf(raw.token).test(r.path));
    expect(await flow.bot.ctx.outputs.get(job.id!)).toBeUndefined();
    expect(flow.discord.find("PATCH", originalOf(raw.token)).filter(isFinal)).toEqual([]);
    expect(channelRequests()).toEqual([]);
    await expect.poll(() => flow.bot!.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
  });

  it("a retry of a job whose result was already shown shows that result again, never 'too late'", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { replyWindowMs: 3000 }));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    flow.discord.channelsWithoutBot.add(CHANNEL_ID);
    const raw = userInstalled(slashWeird({ prompt: "Once upon a time", maxTokens: 16 }));
    flow.bot.inject(raw);
    const shown = await finalFor(raw.token);
    await expect.poll(() => flow.bot!.ctx.queue.getJobCounts("completed")).toEqual({ completed: 1 });
    const [job] = await flow.bot.ctx.queue.getJobs(["completed"]);
    expect((await flow.bot.ctx.outputs.get(job!.id!))?.messageId).not.toBe("");
    // Killed between the final edit and the save of its message id (or Discord's answer lost):
    // the record says generated but not delivered, and BullMQ runs the job again, past its deadline.
    const record = (await flow.bot.ctx.outputs.get(job!.id!))!;
    await flow.bot.ctx.outputs.save({ ...record, messageId: "" });
    const data = job!.data as WeirdJob;
    await new Promise(resolve =>
      setTimeout(resolve, stopGeneratingBy(data.interactionAt, data.deadline!) - Date.now()),
    );
    const before = flow.discord.requests.length;
    await job!.retry("completed");
    await expect.poll(async () => (await flow.bot!.ctx.outputs.get(job!.id!))?.messageId).not.toBe("");
    const again = flow.discord.requests.slice(before);
    expect(again.map(r => r.method)).toEqual(["PATCH"]);
    expect(again[0]!.body?.content).toBe(shown.body?.content);
    expect(again.some(r => JSON.stringify(r.body ?? {}).includes("too long"))).toBe(false);
    expect(await flow.bot.ctx.outputs.get(job!.id!)).toMatchObject({ text: record.text, createdAt: record.createdAt });
    expect(channelRequests()).toEqual([]);
  });

  it("keeps a sweep's finished rows when its deadline comes while a row waits for a context", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { replyWindowMs: 4000 }));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    flow.discord.channelsWithoutBot.add(CHANNEL_ID);
    const raw = userInstalled(
      slashCommand("weird-sweep", {}, [
        { name: "prompt", type: ApplicationCommandOptionType.String, value: "Once upon a time" },
        { name: "max_tokens", type: ApplicationCommandOptionType.Integer, value: 64 },
      ]),
    );
    flow.bot.inject(raw);
    // Once a row is under way, another generation takes the context next and holds it past the
    // job's deadline (as a second job of the same sign would): the following row waits for it.
    await flow.discord.waitFor(r => originalOf(raw.token).test(r.path) && /generating/.test(String(r.body?.content)));
    const pool = (flow.engine as unknown as { pool: ContextPool }).pool;
    const held = await pool.acquire("positive");
    const [job] = await queuedJobs();
    await new Promise(resolve =>
      setTimeout(resolve, stopGeneratingBy(job!.interactionAt, job!.deadline!) - Date.now() + 300),
    );
    await pool.release(held);
    const final = await finalFor(raw.token, 20_000);
    expect(String(final.body?.content)).toMatch(/\*\*Sweep\*\* · \d temperatures \(cut short to arrive in time\)/);
    await expect
      .poll(() => flow.bot!.ctx.queue.getJobCounts("completed", "failed"))
      .toEqual({ completed: 1, failed: 0 });
    const [done] = await flow.bot.ctx.queue.getJobs(["completed"]);
    expect(done?.attemptsMade).toBe(1);
    expect((await flow.bot.ctx.outputs.get(`${done!.id}-0`))?.messageId).not.toBe("");
    expect(flow.worker.logs.join("\n")).not.toMatch(/failed/);
  });

  it("cuts a job short that would miss its window, so the result lands in time", async () => {
    // How long one 400-token row takes here; the four rows below zero never end early, so the
    // sweep takes at least four times that. The window ends halfway through those.
    const timed = await flow.engine.generate({ prompt: "Once upon a time", temperature: -1, maxTokens: 400, seed: 1 });
    const rowMs = (400 / timed.tokensPerSecond) * 1000;
    const stopAfterMs = 2 * rowMs;
    flow.bot = await startBot(
      botConfig(flow.discord.url, flow.prefix, { replyWindowMs: Math.max(1000, (stopAfterMs * 4) / 3) }),
    );
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    flow.discord.channelsWithoutBot.add(CHANNEL_ID);
    const raw = userInstalled(
      slashCommand("weird-sweep", {}, [
        { name: "prompt", type: ApplicationCommandOptionType.String, value: "Once upon a time" },
        { name: "max_tokens", type: ApplicationCommandOptionType.Integer, value: 400 },
      ]),
    );
    flow.bot.inject(raw);
    const final = await finalFor(raw.token, 60_000);
    const [job] = await queuedJobs();
    expect(final.at).toBeLessThanOrEqual(job!.deadline!);
    expect(String(final.body?.content)).toMatch(/\*\*Sweep\*\* · \d temperatures \(cut short to arrive in time\)/);
    expect(channelRequests()).toEqual([]);
  });
});

describe("/weird-mine", () => {
  const ada = "800000000000000201";
  const bob = "800000000000000202";
  const made = (id: string, authorId: string, minutesAgo: number, extra: Partial<OutputRecord> = {}): OutputRecord => ({
    id,
    guildId: GUILD_ID,
    channelId: CHANNEL_ID,
    messageId: "600000000000000500",
    authorId,
    prompt: `Prompt ${id.replace("-", " ")}`,
    temperature: -0.001,
    maxTokens: 32,
    seed: 7,
    model: "stories260K",
    text: `text of ${id}`,
    createdAt: Date.now() - minutesAgo * 60_000,
    surprisal: 25.5,
    ...extra,
  });
  const contentOf = (r: RecordedRequest) => String((r.body?.data as { content?: string } | undefined)?.content);
  const buttonsOf = (r: RecordedRequest) =>
    ((r.body?.data as { components: Array<{ components: Array<Record<string, unknown>> }> }).components ?? []).map(
      row => row.components.map(b => ({ id: b.custom_id, label: b.label, disabled: b.disabled ?? false })),
    );
  const answer = async (raw: { id: string; token: string }) => {
    flow.bot!.inject(raw);
    return flow.discord.waitFor(r => callbackOf(raw).test(r.path));
  };

  it("lists the member's own outputs privately, newest first, a page at a time, from anywhere", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const { outputs } = flow.bot.ctx;
    for (let i = 1; i <= 6; i++) await outputs.save(made(`ada-${i}`, ada, 60 - i));
    // The newest: a prompt full of markup, and a result that never reached Discord.
    await outputs.save(made("ada-7", ada, 1, { prompt: "<@800000000000000009> **bold** @everyone", messageId: "" }));
    await outputs.save(made("bob-1", bob, 5));
    await outputs.toggleVote("ada-7", bob, { selfVotes: false });

    const first = await answer(slashCommand("weird-mine", { userId: ada }));
    expect(first.body).toMatchObject({
      type: 4,
      data: { flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } },
    });
    const page1 = contentOf(first);
    expect(page1).toMatch(/^\*\*Your outputs\*\* · 7 on record \(kept 90 days\) · page 1 of 2\n/);
    expect(page1.match(/^\*\*\d\.\*\*/gm)).toEqual(["**1.**", "**2.**", "**3.**", "**4.**", "**5.**"]);
    // Newest first; the markup shown as text; the one never shown says so; votes and model on each.
    expect(page1.indexOf("bold")).toBeLessThan(page1.indexOf("Prompt ada 6"));
    expect(page1).toContain("\\<\\@800000000000000009\\> \\*\\*bold\\*\\* \\@everyone");
    expect(page1).not.toMatch(/<@\d/);
    expect(page1).toMatch(
      /\*\*1\.\*\* .*T = -0\.001 · β = -1000.*weirdness 25\.50 · 1 vote · stories260K · never shown/,
    );
    expect(page1).toContain(`https://discord.com/channels/${GUILD_ID}/${CHANNEL_ID}/600000000000000500`);
    expect(page1).not.toContain("bob");
    expect(buttonsOf(first)).toEqual([
      ["ada-7", "ada-6", "ada-5", "ada-4", "ada-3"].map((id, i) => ({
        id: `mine-text:${id}`,
        label: `Text ${i + 1}`,
        disabled: false,
      })),
      [
        { id: "mine-page:-1", label: "◀ Newer", disabled: true },
        { id: "mine-page:1", label: "Older ▶", disabled: false },
      ],
    ]);

    // Older: the same message, updated in place.
    const older = await answer(buttonPress("mine-page:1", { userId: ada }));
    expect(older.body?.type).toBe(7);
    expect(contentOf(older)).toMatch(/page 2 of 2\n\*\*6\.\*\* .*\n> Prompt ada 2\n\*\*7\.\*\* .*\n> Prompt ada 1$/);
    expect(buttonsOf(older)[1]).toEqual([
      { id: "mine-page:0", label: "◀ Newer", disabled: false },
      { id: "mine-page:2", label: "Older ▶", disabled: true },
    ]);
    // A page past the end (outputs aged out since) shows the last one.
    expect(contentOf(await answer(buttonPress("mine-page:9", { userId: ada })))).toMatch(/page 2 of 2/);

    // In the bot's DMs and where belowzero is not a member alike: the list is the member's.
    expect(contentOf(await answer(inDirectMessages(slashCommand("weird-mine", { userId: bob }))))).toMatch(
      /1 on record[\s\S]*Prompt bob 1/,
    );
    expect(contentOf(await answer(userInstalled(slashCommand("weird-mine", { userId: ada }))))).toMatch(/7 on record/);
    const nobody = await answer(slashCommand("weird-mine", { userId: "800000000000000203" }));
    expect(contentOf(nobody)).toMatch(/You have no outputs on record/);
  });

  it("shows an output's full text to its author alone, the whole of it attached when long", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const long = "ab`c ".repeat(700);
    await flow.bot.ctx.outputs.save(made("ada-long", ada, 1, { text: long, messageId: "" }));
    const mine = await answer(buttonPress("mine-text:ada-long", { userId: ada }));
    expect(mine.body).toMatchObject({ type: 4, data: { flags: MessageFlags.Ephemeral } });
    expect(contentOf(mine).length).toBeLessThanOrEqual(2000);
    expect(contentOf(mine)).toMatch(/never shown: its reply window closed first\n> Prompt ada long\n```/);
    expect(mine.files).toEqual([{ name: "belowzero-ada-long.txt", data: long }]);
    const theirs = await answer(buttonPress("mine-text:ada-long", { userId: bob }));
    expect(theirs.body).toMatchObject({ type: 4, data: { content: NOT_YOURS, flags: MessageFlags.Ephemeral } });
  });
});
