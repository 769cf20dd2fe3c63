// Several models at once, end to end: two workers with different models (the bundled
// stories260K and a random LLaMA with LLaMA 2's real 32,000-token vocabulary) against one
// Redis and the bot on the fake Discord. Each model's jobs reach only its own worker.
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { InteractionResponseType, MessageFlags } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { temporaryFolder } from "../helpers/engine.js";
import { useFlow } from "../helpers/flow.js";
import { realVocabularyModel } from "../helpers/realVocabulary.js";
import { NAME as HOW_WEIRD } from "../../src/commands/howWeird.js";
import {
  autocomplete,
  botConfig,
  callbackOf,
  isFinal,
  messageCommand,
  originalOf,
  slashCommand,
  slashWeird,
  startBot,
  startWorker,
} from "../helpers/discordBot.js";

const flow = useFlow();
let spm: Engine;
beforeAll(async () => {
  spm = await Engine.load({
    model: await realVocabularyModel("llama-spm"),
    cacheDir: temporaryFolder(),
    gpu: false,
    threads: 1,
    contextSize: 256,
  });
});
afterAll(async () => {
  await spm?.dispose();
});

const finalFor = (token: string, timeoutMs?: number) =>
  flow.discord.waitFor(r => r.method === "PATCH" && originalOf(token).test(r.path) && isFinal(r), timeoutMs);

/** Waits until the bot sees these models live. */
async function live(...ids: string[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const models = await flow.bot!.ctx.models.models();
    if (ids.every(id => models.some(m => m.id === id && m.live.length > 0))) return;
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  throw new Error(`models ${ids.join(", ")} never came up`);
}

describe("several models", () => {
  it("routes each request to its model's worker, and records the model", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    const second = startWorker(spm, flow.discord.url, flow.prefix, { modelId: "spm" });
    try {
      await live("tiny", "spm");
      const onTiny = slashWeird({ prompt: "Once upon a time", temp: -0.5, maxTokens: 8, seed: 7, model: "tiny" });
      const onSpm = slashWeird({ prompt: "Once upon a time", temp: -0.5, maxTokens: 8, seed: 7, model: "spm" });
      flow.bot.inject(onTiny);
      flow.bot.inject(onSpm);
      const [tinyFinal, spmFinal] = await Promise.all([finalFor(onTiny.token), finalFor(onSpm.token)]);
      expect(tinyFinal.body?.content).toMatch(/ · tiny · seed 7\n/);
      expect(spmFinal.body?.content).toMatch(/ · spm · seed 7\n/);
      // Each worker completed only its own job.
      const done = (logs: string[]) => logs.filter(l => / completed$/.test(l)).length;
      for (let i = 0; i < 100 && done(flow.worker.logs) + done(second.logs) < 2; i++)
        await new Promise(resolve => setTimeout(resolve, 50));
      expect([done(flow.worker.logs), done(second.logs)]).toEqual([1, 1]);
      const ids = [tinyFinal, spmFinal].map(f => {
        const row = (f.body!.components as Array<{ components: Array<{ custom_id: string }> }>)[0]!;
        return row.components[0]!.custom_id.replace(/^vote:/, "");
      });
      const records = await Promise.all(ids.map(id => flow.bot!.ctx.outputs.get(id)));
      expect(records.map(r => [r?.modelId, r?.model])).toEqual([
        ["tiny", "tiny"],
        ["spm", "spm"],
      ]);

      // /weird-models: each model with its worker, queue and the speed of its last generation.
      await Promise.all([flow.worker.heartbeat.beat(), second.heartbeat.beat()]);
      const list = slashCommand("weird-models");
      flow.bot.inject(list);
      const answer = await flow.discord.waitFor(r => callbackOf(list).test(r.path));
      expect(answer.body).toMatchObject({ data: { flags: MessageFlags.Ephemeral } });
      const text = String((answer.body!.data as { content: string }).content);
      expect(text).toMatch(
        /\*\*spm\*\* · llama .* · 32000 tokens · context 256\n {2}1 worker · 0 waiting, 0 running · [\d.]+ tokens\/s recently/,
      );
      expect(text).toMatch(
        /\*\*tiny\*\* · llama .* · 512 tokens · context 512\n {2}1 worker · 0 waiting, 0 running · [\d.]+ tokens\/s recently/,
      );
    } finally {
      await second.close();
    }
  });

  it("suggests the live models as the member types, from the registry", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    const second = startWorker(spm, flow.discord.url, flow.prefix, { modelId: "spm" });
    try {
      await live("tiny", "spm");
      const all = autocomplete("weird", "model", "");
      flow.bot.inject(all);
      const answer = await flow.discord.waitFor(r => callbackOf(all).test(r.path));
      expect(answer.body).toMatchObject({ type: InteractionResponseType.ApplicationCommandAutocompleteResult });
      const choices = (answer.body!.data as { choices: Array<{ name: string; value: string }> }).choices;
      expect(choices.map(c => c.value)).toEqual(["spm", "tiny"]);
      expect(choices[1]!.name).toMatch(/^tiny · llama .* · 1 worker$/);
      const typed = autocomplete("weird", "model", "sp");
      flow.bot.inject(typed);
      const narrowed = await flow.discord.waitFor(r => callbackOf(typed).test(r.path));
      expect((narrowed.body!.data as { choices: Array<{ value: string }> }).choices.map(c => c.value)).toEqual(["spm"]);
    } finally {
      await second.close();
    }
  });

  it("answers a model that does not exist, and one whose worker stopped, privately, queueing nothing", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    const second = startWorker(spm, flow.discord.url, flow.prefix, { modelId: "spm" });
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    await live("tiny", "spm");
    await second.close();

    const unknown = slashWeird({ prompt: "Once", model: "nope" });
    flow.bot.inject(unknown);
    expect((await flow.discord.waitFor(r => callbackOf(unknown).test(r.path))).body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: 'There is no model called "nope" (live models: tiny).', flags: MessageFlags.Ephemeral },
    });
    const stopped = slashWeird({ prompt: "Once", model: "spm" });
    flow.bot.inject(stopped);
    expect((await flow.discord.waitFor(r => callbackOf(stopped).test(r.path))).body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: {
        content:
          "spm has no worker running right now, so nothing was queued (live models: tiny). Please try again later.",
        flags: MessageFlags.Ephemeral,
      },
    });
    const bad = slashWeird({ prompt: "Once", model: "no spaces allowed" });
    flow.bot.inject(bad);
    expect((await flow.discord.waitFor(r => callbackOf(bad).test(r.path))).body).toMatchObject({
      data: { content: expect.stringMatching(/^A model id is 1 to 64 letters/), flags: MessageFlags.Ephemeral },
    });
    for (const name of ["weird-spm", "weird-tiny", "weird"])
      expect(await flow.bot.ctx.queues.get(name).count()).toBe(0);

    // Back under the same id: served again.
    const restarted = startWorker(spm, flow.discord.url, flow.prefix, { modelId: "spm" });
    try {
      await live("spm");
      const again = slashWeird({ prompt: "Once", temp: -1, maxTokens: 4, model: "spm" });
      flow.bot.inject(again);
      expect((await finalFor(again.token)).body?.content).toMatch(/ · spm · seed \d+\n/);
    } finally {
      await restarted.close();
    }
  });

  it("answers the jobs of a model whose last worker died mid-job, after the wait, and leaves the other model alone", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { modelWaitMs: 2000 }));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    const root = resolve(import.meta.dirname, "../..");
    // node --import tsx keeps it one process: SIGKILL must hit the worker itself, not a wrapper.
    const doomed = spawn(process.execPath, ["--import", "tsx", join(root, "test/helpers/workerProcess.ts")], {
      env: {
        ...process.env,
        BZ_API_URL: flow.discord.url,
        BZ_PREFIX: flow.prefix,
        BZ_LOCK_MS: "1000",
        BZ_CACHE_DIR: temporaryFolder(),
        BZ_MODEL: await realVocabularyModel("llama-spm"),
        BZ_MODEL_ID: "spm",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      await new Promise(resolve => doomed.stdout.once("data", resolve));
      await live("tiny", "spm");
      const running = slashWeird({ prompt: "Once upon a time", temp: -1, maxTokens: 200, model: "spm" });
      flow.bot.inject(running);
      await flow.discord.waitFor(
        r => originalOf(running.token).test(r.path) && String(r.body?.content).includes("generating…"),
      );
      const waiting = slashWeird({
        prompt: "Once",
        temp: -1,
        maxTokens: 4,
        model: "spm",
        userId: "800000000000000002",
      });
      flow.bot.inject(waiting);
      await flow.discord.waitFor(
        r => originalOf(waiting.token).test(r.path) && String(r.body?.content).startsWith("Queued"),
      );
      const killedAt = Date.now();
      doomed.kill("SIGKILL");
      await new Promise(resolve => doomed.once("exit", resolve));

      // The other model is unaffected meanwhile.
      const other = slashWeird({ prompt: "Once upon a time", temp: -0.5, maxTokens: 8, model: "tiny" });
      flow.bot.inject(other);
      expect((await finalFor(other.token)).body?.content).toMatch(/ · tiny · /);

      // Both spm jobs, the one running and the one waiting, are answered once the wait is over.
      const dropped = (token: string) =>
        flow.discord.waitFor(
          r => originalOf(token).test(r.path) && String(r.body?.content).startsWith("Sorry, no worker serves spm"),
          20_000,
        );
      const [first, second] = await Promise.all([dropped(running.token), dropped(waiting.token)]);
      expect(first.body?.content).toBe(
        "Sorry, no worker serves spm any more: this generation waited 2 s and was dropped. Try again later, or pick another model (/weird-models).",
      );
      // Not before the heartbeat ran out and the wait passed.
      expect(Math.min(first.at, second.at) - killedAt).toBeGreaterThanOrEqual(2000);
      expect(await flow.bot.ctx.queues.get("weird-spm").count()).toBe(0);
      // Their queue places are free again.
      expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
    } finally {
      doomed.kill("SIGKILL");
    }
  }, 60_000);

  it("scores a message (How weird is this?) on a model's own queue when no worker serves the shared one", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    await live("tiny");
    const raw = messageCommand(HOW_WEIRD, { content: "Once upon a time, there was a little girl." });
    flow.bot.inject(raw);
    const answer = await flow.discord.waitFor(
      r =>
        r.method === "PATCH" && originalOf(raw.token).test(r.path) && String(r.body?.content).startsWith("Weirdness"),
    );
    expect(answer.body?.allowed_mentions).toEqual({ parse: [] });
  });
});
