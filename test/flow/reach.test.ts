// Where belowzero is not a member (a member's own install in someone else's server, a group
// DM): results arrive through the interaction's token only, within its window, and an output
// that missed it stays the member's to find. Real bot, queue, worker and fake Discord.
import { describe, expect, it } from "vitest";
import { ApplicationCommandOptionType, MessageFlags } from "discord.js";
import type { WeirdJob } from "../../src/job.js";
import { stopGeneratingBy } from "../../src/job.js";
import { QUEUE_NAME } from "../../src/store/keys.js";
import { ModelRegistry } from "../../src/store/models.js";
import { TOO_LATE_TO_START } from "../../src/worker/worker.js";
import { useFlow } from "../helpers/flow.js";
import {
  APPLICATION_ID,
  botConfig,
  callbackOf,
  CHANNEL_ID,
  GUILD_ID,
  inGroupDm,
  isFinal,
  originalOf,
  slashCommand,
  slashWeird,
  startBot,
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
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const [job] = await flow.bot.ctx.queue.getJobs(["waiting", "prioritized", "active"]);
    await expect.poll(() => flow.worker!.logs.join("\n"), { timeout: 20_000 }).toMatch(/kept for \/weird-mine/);
    expect(await job!.getState()).toBe("completed");
    const output = await flow.bot.ctx.outputs.get(job!.id!);
    expect(output).toMatchObject({ messageId: "", prompt: "Once upon a time", authorId: raw.member.user.id });
    expect(channelRequests()).toEqual([]);
    // Its queue place is free again.
    expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
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

  it("does not start a job whose window closed while it waited, and says so through the token", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { replyWindowMs: 1500 }));
    flow.discord.channelsWithoutBot.add(CHANNEL_ID);
    const raw = userInstalled(slashWeird({ prompt: "Once upon a time" }));
    flow.bot.inject(raw);
    await flow.discord.waitFor(r => originalOf(raw.token).test(r.path) && /Queued/.test(String(r.body?.content)));
    const [job] = await flow.bot.ctx.queue.getJobs(["waiting", "prioritized"]);
    const data = job!.data as WeirdJob;
    await new Promise(resolve =>
      setTimeout(resolve, stopGeneratingBy(data.interactionAt, data.deadline!) - Date.now()),
    );
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    const notice = await flow.discord.waitFor(
      r => r.method === "PATCH" && originalOf(raw.token).test(r.path) && r.body?.content === TOO_LATE_TO_START,
    );
    expect(notice.body?.allowed_mentions).toEqual({ parse: [] });
    expect(await flow.bot.ctx.outputs.get(job!.id!)).toBeUndefined();
    expect(flow.discord.find("PATCH", originalOf(raw.token)).filter(isFinal)).toEqual([]);
    expect(channelRequests()).toEqual([]);
    await expect.poll(() => flow.bot!.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
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
