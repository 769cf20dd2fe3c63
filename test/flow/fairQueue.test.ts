// Servers take turns: a busy server's backlog does not make another server's member wait
// for all of it.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { loadTestEngine } from "../helpers/engine.js";
import { FakeDiscord } from "../helpers/fakeDiscord.js";
import {
  APPLICATION_ID,
  botConfig,
  deleteKeys,
  GUILD_ID,
  slashWeird,
  startBot,
  startWorker,
  testPrefix,
  type TestBot,
} from "../helpers/discordBot.js";

const OTHER_GUILD = "900000000000000009";
let engine: Engine;
let discord: FakeDiscord;
let prefix: string;
let bot: TestBot | undefined;
let worker: ReturnType<typeof startWorker> | undefined;

beforeAll(async () => {
  engine = await loadTestEngine();
});
afterAll(async () => {
  await engine?.dispose();
});
beforeEach(async () => {
  discord = await new FakeDiscord().start();
  prefix = testPrefix();
});
afterEach(async () => {
  await worker?.close();
  await bot?.close();
  worker = bot = undefined;
  await discord.stop();
  await deleteKeys(prefix);
});

/** A /weird from a member of the given server. */
function weirdIn(guildId: string, member: number) {
  const raw = slashWeird({ prompt: `From ${guildId} #${member}`, maxTokens: 8, userId: `80000000000000${member}` });
  return { ...raw, guild_id: guildId, channel: { ...raw.channel, guild_id: guildId } };
}

describe("the fair queue", () => {
  it("starts server B's one job second when server A queued five before it", async () => {
    bot = await startBot(botConfig(discord.url, prefix, { maxPerGuild: 5 }));
    const requests = [1, 2, 3, 4, 5].map(n => weirdIn(GUILD_ID, 1000 + n)).concat(weirdIn(OTHER_GUILD, 2001));
    for (const [index, raw] of requests.entries()) {
      bot.inject(raw);
      // One at a time, as members would: each job is in the queue before the next request.
      while ((await bot.ctx.queue.getJobCountByTypes("waiting", "prioritized")) < index + 1)
        await new Promise(resolve => setTimeout(resolve, 10));
    }
    const placeOf = (token: string) =>
      String(
        discord.find("PATCH", new RegExp(`^/webhooks/${APPLICATION_ID}/${token}/messages/@original$`))[0]?.body
          ?.content,
      ).replace(/^.*: /, "");
    expect(requests.map(raw => placeOf(raw.token))).toEqual([
      "next in the queue.",
      "#2 in the queue.",
      "#3 in the queue.",
      "#4 in the queue.",
      "#5 in the queue.",
      "#2 in the queue.", // behind A's first job only
    ]);

    worker = startWorker(engine, discord.url, prefix);
    while ((await bot.ctx.queue.getCompletedCount()) < requests.length)
      await new Promise(resolve => setTimeout(resolve, 20));
    const completed = await bot.ctx.queue.getJobs(["completed"]);
    const startOrder = completed
      .sort((a, b) => a.processedOn! - b.processedOn!)
      .map(job => (job.data as { prompt: string }).prompt);
    expect(startOrder).toEqual([
      `From ${GUILD_ID} #1001`,
      `From ${OTHER_GUILD} #2001`,
      `From ${GUILD_ID} #1002`,
      `From ${GUILD_ID} #1003`,
      `From ${GUILD_ID} #1004`,
      `From ${GUILD_ID} #1005`,
    ]);
  });
});
