// Jobs waiting for a model whose last worker died, against real Redis and the fake Discord,
// where the round meets the network: a worker coming back under the same MODEL_ID while the
// bot is still telling members keeps the jobs not yet answered.
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { modelQueueName } from "../../src/store/keys.js";
import { ModelRegistry, type WorkerEntry } from "../../src/store/models.js";
import { answerOrphanedJobs } from "../../src/interactions/orphans.js";
import { FakeDiscord } from "../helpers/fakeDiscord.js";
import { botConfig, deleteKeys, startBot, testPrefix, type TestBot } from "../helpers/discordBot.js";

const APPLICATION_ID = "900000000000000001";
let discord: FakeDiscord;
let bot: TestBot;
let prefix: string;

beforeEach(async () => {
  discord = await new FakeDiscord().start();
  prefix = testPrefix();
  // The watcher looks every 500 ms and answers after a wait of 1 s.
  bot = await startBot(botConfig(discord.url, prefix, { modelWaitMs: 1000 }));
});
afterEach(async () => {
  await bot?.close();
  await discord?.stop();
  await deleteKeys(prefix);
});

const tinyWorker = (workerId: string): Omit<WorkerEntry, "seenAt" | "expiresAt"> => ({
  workerId,
  id: "tiny",
  queue: modelQueueName("tiny"),
  file: "tiny.gguf",
  sizeBytes: 1000,
  type: "llama 260K F32",
  vocabularySize: 512,
  contextSize: 512,
  tokensPerSecond: null,
});

const noticeOf = (token: string) => (r: { method: string; path: string }) =>
  r.method === "PATCH" && r.path === `/webhooks/${APPLICATION_ID}/${token}/messages/@original`;

describe("jobs of a model with no worker", () => {
  it("stop being answered as soon as a worker serves the model again, mid-round", async () => {
    const registry = new ModelRegistry(bot.redis, prefix);
    await registry.heartbeat(tinyWorker("old"));
    await registry.remove("old"); // stopped; nobody serves tiny now
    const queue = bot.ctx.queues.get(modelQueueName("tiny"));
    const tokens = ["first", "second", "third"].map(name => `${name}-${randomUUID()}`);
    for (const token of tokens)
      await queue.add(
        "weird",
        {
          applicationId: APPLICATION_ID,
          interactionToken: token,
          interactionAt: Date.now(),
          userId: "800000000000000001",
        },
        { jobId: randomUUID() },
      );
    // Discord is slow to take the first notice; meanwhile the worker restarts under the same id.
    discord.failures.push({ match: r => r.method === "PATCH", status: 200, delayMs: 1500, times: 1 });
    const first = await discord.waitFor(r => tokens.some(token => noticeOf(token)(r)), 10_000);
    await registry.heartbeat(tinyWorker("new"));
    await new Promise(resolve => setTimeout(resolve, 2500)); // the round ends; the next ones see it live

    const told = discord.requests.filter(r => tokens.some(token => noticeOf(token)(r)));
    expect(told).toEqual([first]);
    expect(await queue.getJobCountByTypes("waiting", "prioritized")).toBe(2);
    await registry.remove("new");
  }, 20_000);

  it("tell a member whose message was waiting for a score that it was a score, not a generation", async () => {
    const registry = new ModelRegistry(bot.redis, prefix);
    await registry.heartbeat(tinyWorker("old"));
    await registry.remove("old");
    const token = `score-${randomUUID()}`;
    await bot.ctx.queues.get(modelQueueName("tiny")).add(
      "score",
      {
        applicationId: APPLICATION_ID,
        interactionToken: token,
        interactionAt: Date.now(),
        userId: "800000000000000001",
        guildId: null,
        text: "Once upon a time",
      },
      { jobId: randomUUID() },
    );
    const notice = await discord.waitFor(noticeOf(token), 10_000);
    expect(notice.body!.content).toBe(
      "Sorry, no worker serves tiny any more: scoring that message waited 1 s and was dropped. Try again later.",
    );
  }, 20_000);

  it("are answered once each when two bot processes take the same round at once", async () => {
    const other = await startBot(botConfig(discord.url, prefix, { modelWaitMs: 1000 }));
    try {
      const registry = new ModelRegistry(bot.redis, prefix);
      await registry.heartbeat(tinyWorker("old"));
      await registry.remove("old");
      const queue = bot.ctx.queues.get(modelQueueName("tiny"));
      const tokens = Array.from({ length: 6 }, (_, i) => `twice-${i}-${randomUUID()}`);
      for (const token of tokens)
        await queue.add(
          "weird",
          {
            applicationId: APPLICATION_ID,
            interactionToken: token,
            interactionAt: Date.now(),
            userId: "800000000000000001",
          },
          { jobId: randomUUID() },
        );
      await new Promise(resolve => setTimeout(resolve, 1100)); // past the wait
      const [a, b] = await Promise.all([
        answerOrphanedJobs(bot.ctx, bot.client.rest),
        answerOrphanedJobs(other.ctx, other.client.rest),
      ]);
      await new Promise(resolve => setTimeout(resolve, 1000)); // and whatever the watchers did
      const told = tokens.map(token => discord.requests.filter(noticeOf(token)).length);
      expect(told).toEqual(tokens.map(() => 1));
      expect(a + b).toBeLessThanOrEqual(tokens.length);
      expect(await queue.getJobCountByTypes("waiting", "prioritized")).toBe(0);
    } finally {
      await other.close();
    }
  }, 20_000);
});
