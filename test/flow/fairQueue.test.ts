// Servers take turns: a busy server's backlog does not make another server's member wait
// for all of it.
import { describe, expect, it } from "vitest";
import { useFlow } from "../helpers/flow.js";
import { APPLICATION_ID, botConfig, GUILD_ID, slashWeird, startBot, startWorker } from "../helpers/discordBot.js";

const OTHER_GUILD = "900000000000000009";
const flow = useFlow();

/** A /weird from a member of the given server. */
function weirdIn(guildId: string, member: number) {
  const raw = slashWeird({ prompt: `From ${guildId} #${member}`, maxTokens: 8, userId: `80000000000000${member}` });
  return { ...raw, guild_id: guildId, channel: { ...raw.channel, guild_id: guildId } };
}

describe("the fair queue", () => {
  it("starts server B's one job second when server A queued five before it", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { maxPerGuild: 5 }));
    const requests = [1, 2, 3, 4, 5].map(n => weirdIn(GUILD_ID, 1000 + n)).concat(weirdIn(OTHER_GUILD, 2001));
    for (const [index, raw] of requests.entries()) {
      flow.bot.inject(raw);
      // One at a time, as members would: each job is in the queue before the next request.
      while ((await flow.bot.ctx.queue.getJobCountByTypes("waiting", "prioritized")) < index + 1)
        await new Promise(resolve => setTimeout(resolve, 10));
    }
    const placeOf = (token: string) =>
      String(
        flow.discord.find("PATCH", new RegExp(`^/webhooks/${APPLICATION_ID}/${token}/messages/@original$`))[0]?.body
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

    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix);
    while ((await flow.bot.ctx.queue.getCompletedCount()) < requests.length)
      await new Promise(resolve => setTimeout(resolve, 20));
    const completed = await flow.bot.ctx.queue.getJobs(["completed"]);
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
