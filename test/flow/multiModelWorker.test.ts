// One worker process serving two models (MODELS): the real entry point, configured by its
// environment alone, with the bundled stories260K and a random LLaMA with LLaMA 2's real
// 32,000-token vocabulary, against one Redis and the bot on the fake Discord.
import { afterEach, describe, expect, it } from "vitest";
import type { WeirdJob } from "../../src/job.js";
import { useFlow } from "../helpers/flow.js";
import { realVocabularyModel } from "../helpers/realVocabulary.js";
import { testModelPath } from "../helpers/engine.js";
import { spawnWorkerMain, type WorkerMain } from "../helpers/workerMain.js";
import { botConfig, isFinal, originalOf, slashCompare, slashWeird, startBot } from "../helpers/discordBot.js";

const flow = useFlow();
let worker: WorkerMain | undefined;
afterEach(async () => {
  worker?.child.kill("SIGKILL");
  await worker?.exited;
  worker = undefined;
});

const finalFor = (token: string, timeoutMs?: number) =>
  flow.discord.waitFor(r => r.method === "PATCH" && originalOf(token).test(r.path) && isFinal(r), timeoutMs);

async function startTwoModels(extra: Record<string, string> = {}): Promise<WorkerMain> {
  const started = spawnWorkerMain({
    MODELS: `tiny=${testModelPath()},spm=${await realVocabularyModel("llama-spm")}`,
    MODELS_AT_ONCE: "1",
    DISCORD_API_URL: flow.discord.url,
    REDIS_PREFIX: flow.prefix,
    LLAMA_GPU: "cpu",
    LLAMA_CONTEXT_SIZE: "512",
    ...extra,
  });
  worker = started;
  await started.waitFor(/serving spm from the queue weird-spm/);
  return started;
}

/** Waits until the bot sees these models live, and returns their live workers. */
async function live(...ids: string[]) {
  for (let i = 0; i < 100; i++) {
    const models = await flow.bot!.ctx.models.models();
    const found = ids.map(id => models.find(m => m.id === id && m.live.length > 0));
    if (found.every(model => model !== undefined)) return found.map(model => model.live);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  throw new Error(`models ${ids.join(", ")} never came up`);
}

describe("a worker serving several models", () => {
  it("serves each model on its own queue from one process, every job answered while they take turns", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const process = await startTwoModels();
    expect(process.output()).toMatch(/"msg":"loaded stories260K\.gguf as tiny; negation: /);
    expect(process.output()).toMatch(/"msg":"loaded [^"]+ as spm; negation: /);
    expect(process.output()).toMatch(/"msg":"2 models, at most 1 generating at once \(\d context/);
    const [tinyWorkers, spmWorkers] = await live("tiny", "spm");
    // One process: its two entries share the host and pid that begin each worker id.
    const processOf = (id: string) => id.split("-").slice(0, -1).join("-");
    expect(tinyWorkers).toHaveLength(1);
    expect(spmWorkers).toHaveLength(1);
    expect(processOf(tinyWorkers![0]!.workerId)).toBe(processOf(spmWorkers![0]!.workerId));
    expect(spmWorkers![0]!.vocabularySize).toBe(32_000);

    // Several of each at once: the gate lets one model run at a time, and every job is answered.
    const requests = [0, 1, 2, 3].map(i =>
      slashWeird({
        prompt: "Once upon a time",
        temp: -0.5,
        maxTokens: 12,
        seed: i,
        model: i % 2 === 0 ? "tiny" : "spm",
        userId: `80000000000000000${i}`,
      }),
    );
    for (const request of requests) flow.bot.inject(request);
    const finals = await Promise.all(requests.map(request => finalFor(request.token, 30_000)));
    for (const [i, final] of finals.entries())
      expect(final.body?.content).toMatch(new RegExp(` · ${i % 2 === 0 ? "tiny" : "spm"} · seed ${i}\\n`));
    expect(finals.every(final => (final.body?.allowed_mentions as { parse: unknown[] }).parse.length === 0)).toBe(true);
  }, 90_000);

  /** spm generating a long reply, and a tiny job taken by the process, waiting for its turn. */
  async function oneRunningOneWaiting(process: WorkerMain) {
    await live("tiny", "spm");
    // Long enough that it still runs when the tiny job arrives, on a loaded machine too.
    const running = slashWeird({ prompt: "Once upon a time", temp: -1, maxTokens: 480, model: "spm" });
    flow.bot!.inject(running);
    await flow.discord.waitFor(
      r => originalOf(running.token).test(r.path) && String(r.body?.content).includes("generating…"),
    );
    const waiting = slashWeird({ prompt: "Once", temp: -1, maxTokens: 4, model: "tiny", userId: "800000000000000009" });
    flow.bot!.inject(waiting);
    await process.waitFor(/"msg":"a job of tiny waits for its turn \(running: spm\)"/, 20_000);
    return { running, waiting };
  }

  it("answers both models' jobs when the process dies mid-job", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { modelWaitMs: 2000 }));
    const process = await startTwoModels({ WORKER_LOCK_SECONDS: "1" });
    const { running, waiting } = await oneRunningOneWaiting(process);
    process.child.kill("SIGKILL");
    await process.exited;

    const dropped = (token: string, model: string) =>
      flow.discord.waitFor(
        r => originalOf(token).test(r.path) && String(r.body?.content).startsWith(`Sorry, no worker serves ${model}`),
        20_000,
      );
    await Promise.all([dropped(running.token, "spm"), dropped(waiting.token, "tiny")]);
    for (const name of ["weird-spm", "weird-tiny"]) expect(await flow.bot.ctx.queues.get(name).count()).toBe(0);
    expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
  }, 90_000);

  it("on a clean stop, finishes what runs and hands back at once what waits for its turn", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const process = await startTwoModels();
    const { running, waiting } = await oneRunningOneWaiting(process);
    process.child.kill("SIGTERM");
    // The running reply is finished and delivered; the waiting job is back on its queue, untold.
    expect((await finalFor(running.token, 30_000)).body?.content).toMatch(/ · spm · /);
    expect(await process.exited).toBe(0);
    const tiny = flow.bot.ctx.queues.get("weird-tiny");
    const jobs = await tiny.getJobs(["waiting", "delayed", "prioritized"]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.attemptsMade).toBe(0);
    expect(
      flow.discord.requests.some(r => originalOf(waiting.token).test(r.path) && /Sorry/.test(String(r.body?.content))),
    ).toBe(false);

    // A worker for tiny alone takes it up.
    const after = spawnWorkerMain({
      MODEL: testModelPath(),
      MODEL_ID: "tiny",
      DISCORD_API_URL: flow.discord.url,
      REDIS_PREFIX: flow.prefix,
      LLAMA_GPU: "cpu",
    });
    worker = after;
    expect((await finalFor(waiting.token, 30_000)).body?.content).toMatch(/ · tiny · /);
  }, 90_000);

  it("shows a comparison's part as waiting while its model waits for its turn, and runs it once its turn comes", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const process = await startTwoModels();
    await live("tiny", "spm");
    // spm generates a long reply; the comparison's tiny part is taken and waits for its turn.
    const long = slashWeird({ prompt: "Once upon a time", temp: -1, maxTokens: 480, model: "spm" });
    flow.bot.inject(long);
    await flow.discord.waitFor(
      r => originalOf(long.token).test(r.path) && String(r.body?.content).includes("generating…"),
    );
    const compare = slashCompare({
      prompt: "Once upon a time",
      temp: -1,
      model1: "tiny",
      model2: "spm",
      max_tokens: 16,
      seed: 3,
    });
    flow.bot.inject(compare);
    await process.waitFor(/"msg":"a job of tiny waits for its turn \(running: spm\)"/, 20_000);
    // Its part is still "waiting" in the comparison (and so on the message) while it waits.
    const [job] = await flow.bot.ctx.queues.get("weird-tiny").getJobs(["active"]);
    const { id, part } = (job!.data as WeirdJob).compare!;
    expect((await flow.bot.ctx.comparisons.get(id))!.states[part]).toEqual({ state: "waiting" });
    const settled = await flow.discord.waitFor(
      r =>
        originalOf(compare.token).test(r.path) &&
        (String(r.body?.content).match(/ · weirdness \d/g) ?? []).length === 2,
      60_000,
    );
    expect(String(settled.body?.content)).toMatch(/\*\*tiny\*\* · T = -1 · β = -1 · weirdness \d/);
  }, 90_000);

  it("refuses to start, before loading anything, when one of its models is missing", async () => {
    const missing = spawnWorkerMain({
      MODELS: `tiny=${testModelPath()},gone=/nowhere/missing.gguf`,
      REDIS_PREFIX: flow.prefix,
      LLAMA_GPU: "cpu",
    });
    worker = missing;
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toMatch(/"level":60,.*"msg":"Model file not found: \/nowhere\/missing\.gguf/);
    expect(missing.output()).not.toMatch(/"msg":"loaded /);
  });
});
