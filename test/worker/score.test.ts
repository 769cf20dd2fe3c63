// A score job (How weird is this?) answers on the member's ephemeral reply, whose token lives
// 15 minutes: one whose token ran out while it waited for its model's turn is dropped, never
// scored into a reply nobody can see. Real engine, real queue job, fake Discord.
import { Queue, UnrecoverableError, type Job } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { INTERACTION_TOKEN_LIFETIME_MS, SCORE_JOB, type ScoreJob } from "../../src/job.js";
import { createRest } from "../../src/worker/reply.js";
import { processScoreJob, SCORE_MARGIN_MS } from "../../src/worker/score.js";
import { APPLICATION_ID, deleteKeys, REDIS_URL, testPrefix } from "../helpers/discordBot.js";
import { loadTestEngine } from "../helpers/engine.js";
import { FakeDiscord } from "../helpers/fakeDiscord.js";

describe("a score job", () => {
  let engine: Engine;
  let discord: FakeDiscord;
  let redis: Redis;
  let queue: Queue;
  const prefix = testPrefix();
  beforeAll(async () => {
    engine = await loadTestEngine();
    discord = await new FakeDiscord().start();
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue("score-test", { connection: redis, prefix });
  });
  afterAll(async () => {
    await queue?.close();
    await deleteKeys(prefix);
    redis?.disconnect();
    await discord?.stop();
    await engine?.dispose();
  });

  const scoreJob = (token: string, interactionAt: number): Promise<Job> => {
    const data: ScoreJob = {
      applicationId: APPLICATION_ID,
      interactionToken: token,
      interactionAt,
      guildId: null,
      userId: "800000000000000001",
      text: "Once upon a time, there was a little girl.",
    };
    return queue.add(SCORE_JOB, data);
  };

  it("is answered on the reply when its turn comes in time", async () => {
    const job = await scoreJob("fresh-token", Date.now());
    await processScoreJob(job, engine, createRest("secret", discord.url), work => work());
    const [answer] = discord.find("PATCH", /fresh-token\/messages\/@original$/);
    expect(String(answer?.body?.content)).toMatch(/^Weirdness \*\*\d+\.\d\d\*\*/);
  });

  it("is dropped, unscored and unsent, when its token runs out while it waits for its turn", async () => {
    const interactionAt = Date.now();
    let clock = interactionAt + INTERACTION_TOKEN_LIFETIME_MS - SCORE_MARGIN_MS - 1000; // in time when taken
    const job = await scoreJob("late-token", interactionAt);
    let ran = false;
    const waitedLong = async (work: () => Promise<string>) => {
      clock += 2000; // another model ran meanwhile
      ran = true;
      return work();
    };
    const scoring = processScoreJob(job, engine, createRest("secret", discord.url), waitedLong, () => clock);
    await expect(scoring).rejects.toThrow(UnrecoverableError);
    await expect(scoring).rejects.toThrow(/token expired before it ran/);
    expect(ran).toBe(true);
    expect(discord.find("PATCH", /late-token/)).toEqual([]);
    // Already past its lifetime when taken: refused before waiting at all.
    ran = false;
    await expect(
      processScoreJob(job, engine, createRest("secret", discord.url), waitedLong, () => clock),
    ).rejects.toThrow(/token expired/);
    expect(ran).toBe(false);
  });
});
