// /weird-compare end to end: two workers with different models (the bundled stories260K and
// a random LLaMA with LLaMA 2's real 32,000-token vocabulary) against one Redis and the bot on
// the fake Discord. One message shows every part, whichever worker finishes first, and each
// part is an output of its own with its own vote.
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { ApplicationCommandOptionType, InteractionResponseType, MessageFlags } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { temporaryFolder } from "../helpers/engine.js";
import { useFlow } from "../helpers/flow.js";
import { realVocabularyModel } from "../helpers/realVocabulary.js";
import {
  autocomplete,
  botConfig,
  buttonPress,
  callbackOf,
  originalOf,
  slashCommand,
  slashCompare,
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

async function live(...ids: string[]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const models = await flow.bot!.ctx.models.models();
    if (ids.every(id => models.some(m => m.id === id && m.live.length > 0))) return;
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  throw new Error(`models ${ids.join(", ")} never came up`);
}

type Button = { custom_id: string; label: string };
const buttonsOf = (components: unknown) =>
  ((components ?? []) as Array<{ components: Button[] }>).flatMap(row => row.components);

/** The reply as Discord holds it, once `done` parts show a vote button. */
async function settledReply(token: string, done: number, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const message = flow.discord.messageById(`original-${token}`);
    if (message && buttonsOf(message.components).length >= done) return message;
    if (Date.now() > deadline) throw new Error(`the comparison never showed ${done} results: ${message?.content}`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

/** Waits until every worker is idle, so the message has stopped changing. */
async function idle(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const counts = await Promise.all(
      ["weird-tiny", "weird-spm"].map(name => flow.bot!.ctx.queues.get(name).getJobCounts("waiting", "active")),
    );
    if (counts.every(c => (c.waiting ?? 0) + (c.active ?? 0) === 0)) return;
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

describe("/weird-compare", () => {
  it("runs one prompt and seed on two models' workers, shows both in one message, each with its own vote", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    const second = startWorker(spm, flow.discord.url, flow.prefix, { modelId: "spm" });
    try {
      await live("tiny", "spm");
      const compare = slashCompare({
        prompt: "Once upon a time",
        temp: -0.5,
        model1: "tiny",
        model2: "spm",
        max_tokens: 8,
        seed: 7,
      });
      flow.bot.inject(compare);
      const message = await settledReply(compare.token, 2);
      await idle();
      const final = flow.discord.messageById(`original-${compare.token}`)!;
      expect(final.content).toMatch(/^\*\*Compare\*\* · 2 results · 8 tokens each · seed 7/);
      const buttons = buttonsOf(final.components);
      expect(buttons.map(b => b.label)).toEqual(["tiny · T = -0.5 · 0", "spm · T = -0.5 · 0"]);
      // Each part is an output of its own: its model, the shared seed, and its text in the message.
      const ids = buttons.map(b => b.custom_id.replace(/^vote:/, ""));
      const records = await flow.bot.ctx.outputs.getMany(ids);
      expect(records.map(r => [r?.modelId, r?.seed, r?.temperature, r?.compareRows])).toEqual([
        ["tiny", 7, -0.5, ids],
        ["spm", 7, -0.5, ids],
      ]);
      for (const record of records) expect(final.content).toContain(record!.text.slice(0, 10));
      expect(final.content).toMatch(/\*\*tiny\*\* · T = -0\.5 · β = -2 · weirdness \d+\.\d\d · 8 tokens\n```/);
      expect(final.content).toMatch(/\*\*spm\*\* · T = -0\.5 · β = -2 · weirdness \d+\.\d\d · 8 tokens\n```/);
      // The same seed on the same model gives the same text as /weird would.
      const direct = await flow.engine.generate({
        prompt: "Once upon a time",
        temperature: -0.5,
        maxTokens: 8,
        seed: 7,
      });
      expect(records[0]!.text).toBe(direct.text);
      // Both places are free again.
      expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
      expect(message.content).toContain("**spm**");

      // A vote counts for its part alone; the message keeps both buttons.
      const press = buttonPress(`vote:${ids[1]}`, { userId: "800000000000000009" });
      flow.bot.inject(press);
      const answer = await flow.discord.waitFor(r => callbackOf(press).test(r.path));
      expect(answer.body).toMatchObject({ type: InteractionResponseType.UpdateMessage });
      const labels = buttonsOf((answer.body!.data as { components: unknown }).components).map(b => b.label);
      expect(labels).toEqual(["tiny · T = -0.5 · 0", "spm · T = -0.5 · 1"]);
      expect(await flow.bot.ctx.outputs.voteCount(ids[1]!)).toBe(1);

      // Every model option is suggested from the live registry, as /weird's is.
      const typing = autocomplete("weird-compare", "model2", "sp");
      flow.bot.inject(typing);
      const suggested = await flow.discord.waitFor(r => callbackOf(typing).test(r.path));
      expect((suggested.body!.data as { choices: Array<{ value: string }> }).choices.map(c => c.value)).toEqual([
        "spm",
      ]);

      // Each part is on its own model's board and in its stats.
      const string = (name: string, value: string) => ({ name, type: ApplicationCommandOptionType.String, value });
      const weirdest = slashCommand("weirdest", {}, [string("period", "all"), string("model", "spm")]);
      flow.bot.inject(weirdest);
      const board = await flow.discord.waitFor(r => callbackOf(weirdest).test(r.path));
      const description = (board.body!.data as { embeds: Array<{ description: string }> }).embeds[0]!.description;
      expect(description).toMatch(
        /^Weirdest outputs made with spm in all time .*, by votes:\n\*\*1\.\*\* 1 vote · T = -0\.5/,
      );
      expect(description).not.toContain("**2.**");
      const stats = slashCommand("weird-stats", {}, [string("model", "tiny")]);
      flow.bot.inject(stats);
      const counted = await flow.discord.waitFor(r => callbackOf(stats).test(r.path));
      const lines = (counted.body!.data as { embeds: Array<{ description: string }> }).embeds[0]!.description.split(
        "\n",
      );
      expect(lines.slice(0, 2)).toEqual([
        "This server's outputs made with tiny, over the last 90 days (what is kept):",
        "Outputs generated: **1** · votes cast: **0** · members who played: **1**",
      ]);
      // The filter suggests the models the server's outputs were made with, live or not.
      const filter = autocomplete("weirdest", "model", "");
      flow.bot.inject(filter);
      const models = await flow.discord.waitFor(r => callbackOf(filter).test(r.path));
      expect((models.body!.data as { choices: Array<{ value: string }> }).choices.map(c => c.value)).toEqual([
        "spm",
        "tiny",
      ]);
      const both = slashCommand(
        "weirdest",
        {},
        [
          string("model", "spm"),
          { name: "member", type: ApplicationCommandOptionType.User, value: "800000000000000009" },
        ],
        ["800000000000000009"],
      );
      flow.bot.inject(both);
      expect((await flow.discord.waitFor(r => callbackOf(both).test(r.path))).body).toMatchObject({
        data: {
          content: "Filter by member or by model, not both: leave one of them out.",
          flags: MessageFlags.Ephemeral,
        },
      });
    } finally {
      await second.close();
    }
  }, 60_000);

  it("keeps both results when the first one's edit reaches Discord after the second's", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    const second = startWorker(spm, flow.discord.url, flow.prefix, { modelId: "spm" });
    try {
      await live("tiny", "spm");
      // spm's worker waits (still live) until tiny's result is on its way, so tiny reads the state first.
      await second.worker.pause();
      const compare = slashCompare({
        prompt: "Once upon a time",
        temp: 1,
        model1: "tiny",
        model2: "spm",
        max_tokens: 16,
        seed: 3,
      });
      const doneParts = (r: { body?: Record<string, unknown> }) =>
        String(r.body?.content).match(/\*\* · T = 1 · β = 1 · weirdness \d/g)?.length ?? 0;
      const toReply = (r: { method: string; path: string }) =>
        r.method === "PATCH" && originalOf(compare.token).test(r.path);
      // tiny's edit showing its result alone reaches Discord 5 s late, after spm's showing both.
      flow.discord.failures.push({
        match: r => toReply(r) && doneParts(r) === 1,
        status: 200,
        delayMs: 5000,
        times: 1,
      });
      flow.bot.inject(compare);
      const held = await flow.discord.waitFor(r => toReply(r) && doneParts(r) === 1, 30_000);
      expect(held.body?.content).toMatch(/\*\*tiny\*\* · T = 1 · β = 1 · weirdness/);
      await second.worker.resume();
      const both = await flow.discord.waitFor(r => toReply(r) && doneParts(r) === 2, 30_000);
      expect(both.at).toBeLessThan(held.at + 5000); // spm's edit landed while tiny's was held
      // Wait out the held edit, and whatever edit its worker makes after it.
      await new Promise(resolve => setTimeout(resolve, held.at + 5500 - Date.now()));
      await idle();
      const final = flow.discord.messageById(`original-${compare.token}`)!;
      expect(buttonsOf(final.components).map(b => b.label)).toEqual(["tiny · T = 1 · 0", "spm · T = 1 · 0"]);
      expect(doneParts({ body: { content: final.content } })).toBe(2);
    } finally {
      await second.close();
    }
  }, 60_000);

  it("keeps a part's button that finished while a vote's update was on its way", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    const second = startWorker(spm, flow.discord.url, flow.prefix, { modelId: "spm" });
    try {
      await live("tiny", "spm");
      await second.worker.pause();
      const compare = slashCompare({
        prompt: "Once upon a time",
        temp: 1,
        model1: "tiny",
        model2: "spm",
        max_tokens: 8,
      });
      flow.bot.inject(compare);
      const first = await settledReply(compare.token, 1);
      const [tinyId] = buttonsOf(first.components).map(b => b.custom_id.replace(/^vote:/, ""));
      const press = buttonPress(`vote:${tinyId}`, { userId: "800000000000000009", messageId: first.id });
      flow.discord.bindToken(press.token, first.id);
      // The vote's update (read while spm was still waiting) reaches Discord after spm's result.
      flow.discord.failures.push({ match: r => callbackOf(press).test(r.path), status: 200, delayMs: 4000, times: 1 });
      flow.bot.inject(press);
      const held = await flow.discord.waitFor(r => callbackOf(press).test(r.path));
      await second.worker.resume();
      const both = await flow.discord.waitFor(
        r => r.method === "PATCH" && String(r.body?.content).match(/· weirdness \d/g)?.length === 2,
        30_000,
      );
      expect(both.at).toBeLessThan(held.at + 4000);
      await new Promise(resolve => setTimeout(resolve, held.at + 6000 - Date.now()));
      await idle();
      const final = flow.discord.messageById(first.id)!;
      expect(buttonsOf(final.components).map(b => b.label)).toEqual(["tiny · T = 1 · 1", "spm · T = 1 · 0"]);
    } finally {
      await second.close();
    }
  }, 60_000);

  it("compares one model at two temperatures", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    await live("tiny");
    const compare = slashCompare({
      prompt: "Once upon a time",
      temp: 1,
      temp2: -1,
      model1: "tiny",
      max_tokens: 6,
      seed: 11,
    });
    flow.bot.inject(compare);
    const message = await settledReply(compare.token, 2);
    expect(buttonsOf(message.components).map(b => b.label)).toEqual(["tiny · T = 1 · 0", "tiny · T = -1 · 0"]);
    const ids = buttonsOf(message.components).map(b => b.custom_id.replace(/^vote:/, ""));
    const records = await flow.bot.ctx.outputs.getMany(ids);
    for (const [i, temperature] of [1, -1].entries()) {
      const direct = await flow.engine.generate({ prompt: "Once upon a time", temperature, maxTokens: 6, seed: 11 });
      expect(records[i]!.text).toBe(direct.text);
    }
  }, 60_000);

  it("shows a part whose result was saved but whose edit failed when its job is retried, under the message's real id", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    await live("tiny");
    const compare = slashCompare({ prompt: "Once upon a time", temp: 1, temp2: -1, model1: "tiny", max_tokens: 6 });
    const firstDone = (r: { method: string; path: string; body?: Record<string, unknown> }) =>
      r.method === "PATCH" &&
      originalOf(compare.token).test(r.path) &&
      /T = 1 · β = 1 · weirdness/.test(String(r.body?.content)) &&
      !/T = -1 · β = -1 · weirdness/.test(String(r.body?.content));
    // The first part is saved and marked done, then Discord fails its edit (and discord.js's 3 retries).
    const failure = { match: firstDone, status: 500, times: 4 };
    flow.discord.failures.push(failure);
    flow.bot.inject(compare);
    const settled = await settledReply(compare.token, 2);
    const ids = buttonsOf(settled.components).map(b => b.custom_id.replace(/^vote:/, ""));
    // The retry shows the part and records the message it is in, never a made-up id.
    for (let i = 0; i < 200 && (await flow.bot.ctx.outputs.get(ids[0]!))?.messageId === ""; i++)
      await new Promise(resolve => setTimeout(resolve, 50));
    await idle();
    const final = flow.discord.messageById(`original-${compare.token}`)!;
    const records = await flow.bot.ctx.outputs.getMany(ids);
    expect(records.map(r => r?.messageId)).toEqual([final.id, final.id]);
    expect(failure.times).toBe(0); // the first attempt's edit did fail
    expect(buttonsOf(final.components).map(b => b.label)).toEqual(["tiny · T = 1 · 0", "tiny · T = -1 · 0"]);
    expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
  }, 60_000);

  it("runs a part whose 'generating…' edit Discord refuses", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    await live("tiny");
    const compare = slashCompare({ prompt: "Once upon a time", temp: 1, temp2: -1, model1: "tiny", max_tokens: 6 });
    const runningOnly = (r: { method: string; path: string; body?: Record<string, unknown> }) =>
      r.method === "PATCH" &&
      originalOf(compare.token).test(r.path) &&
      String(r.body?.content).includes("generating…") &&
      !/· weirdness \d/.test(String(r.body?.content));
    // Every edit that only says a part started is refused (as once the token or access is gone).
    const failure = { match: runningOnly, status: 403, body: { code: 50001, message: "Missing Access" }, times: 100 };
    flow.discord.failures.push(failure);
    flow.bot.inject(compare);
    const settled = await settledReply(compare.token, 2, 20_000);
    expect(failure.times).toBeLessThan(100);
    expect(buttonsOf(settled.components).map(b => b.label)).toEqual(["tiny · T = 1 · 0", "tiny · T = -1 · 0"]);
    await idle();
    expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
  }, 60_000);

  it("answers a model that does not exist, one with no worker, and options that compare nothing, privately, queueing nothing", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    const gone = startWorker(spm, flow.discord.url, flow.prefix, { modelId: "spm" });
    await live("tiny", "spm");
    await gone.close();
    const cases: Array<[Record<string, string | number>, string | RegExp]> = [
      [{ prompt: "Once", model1: "tiny", model2: "nope" }, 'There is no model called "nope" (live models: tiny).'],
      [
        { prompt: "Once", model1: "tiny", model2: "spm" },
        "spm has no worker running right now, so nothing was queued (live models: tiny). Please try again later.",
      ],
      [{ prompt: "Once", model1: "tiny" }, /^A comparison needs two things to compare/],
      [{ prompt: "Once", model1: "tiny", model2: "tiny" }, /^You named tiny twice/],
      [
        { prompt: "Once", model1: "tiny", temp: -1, temp2: -1 },
        "temp2 is the same as temp (-1): give a different one.",
      ],
      [{ prompt: "Once", model1: "tiny", model2: "bad id!" }, /^A model id is 1 to 64 letters/],
    ];
    for (const [options, content] of cases) {
      const compare = slashCompare(options);
      flow.bot.inject(compare);
      const answer = await flow.discord.waitFor(r => callbackOf(compare).test(r.path));
      expect(answer.body).toMatchObject({
        type: InteractionResponseType.ChannelMessageWithSource,
        data: {
          content: typeof content === "string" ? content : expect.stringMatching(content),
          flags: MessageFlags.Ephemeral,
        },
      });
    }
    for (const name of ["weird-spm", "weird-tiny", "weird"])
      expect(await flow.bot.ctx.queues.get(name).count()).toBe(0);
    expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
  });

  it("refuses a comparison bigger than the server's queue cap, taking no place", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { maxPerGuild: 1 }));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    await live("tiny");
    const compare = slashCompare({ prompt: "Once", model1: "tiny", temp: 1, temp2: -1 });
    flow.bot.inject(compare);
    const answer = await flow.discord.waitFor(r => callbackOf(compare).test(r.path));
    expect(answer.body).toMatchObject({
      data: {
        content:
          "This server's queue is full (0 of 1 generations waiting or running). Please try again in a minute. (A comparison of 2 takes 2 places.)",
        flags: MessageFlags.Ephemeral,
      },
    });
    expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
    expect(await flow.bot.ctx.queues.get("weird-tiny").count()).toBe(0);
  });

  it("answers the part of a worker killed mid-compare, and the other part stands", async () => {
    flow.bot = await startBot(botConfig(flow.discord.url, flow.prefix, { modelWaitMs: 2000 }));
    flow.worker = startWorker(flow.engine, flow.discord.url, flow.prefix, { modelId: "tiny" });
    const root = resolve(import.meta.dirname, "../..");
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
      const compare = slashCompare({
        prompt: "Once upon a time",
        temp: -1,
        model1: "spm",
        model2: "tiny",
        max_tokens: 200,
      });
      flow.bot.inject(compare);
      await flow.discord.waitFor(
        r =>
          originalOf(compare.token).test(r.path) &&
          String(r.body?.content).includes("**spm** · T = -1 · β = -1 · generating…"),
        30_000,
      );
      const killedAt = Date.now();
      doomed.kill("SIGKILL");
      await new Promise(resolve => doomed.once("exit", resolve));
      const answered = await flow.discord.waitFor(
        r =>
          originalOf(compare.token).test(r.path) && String(r.body?.content).includes("no worker serves spm any more"),
        30_000,
      );
      expect(answered.at - killedAt).toBeGreaterThanOrEqual(2000);
      await settledReply(compare.token, 1);
      await idle();
      const final = flow.discord.messageById(`original-${compare.token}`)!;
      expect(final.content).toContain(
        String.raw`**spm** · T = -1 · β = -1 · no worker serves spm any more\: this part waited 2 s and was dropped\.`,
      );
      expect(final.content).toMatch(/\*\*tiny\*\* · T = -1 · β = -1 · weirdness \d+\.\d\d · 200 tokens\n```/);
      // Only the part that ran has a button; both places are free.
      expect(buttonsOf(final.components).map(b => b.label)).toEqual(["tiny · T = -1 · 0"]);
      expect(await flow.bot.redis.zcard(`${flow.prefix}:pending-all`)).toBe(0);
      expect(await flow.bot.ctx.queues.get("weird-spm").count()).toBe(0);
    } finally {
      doomed.kill("SIGKILL");
    }
  }, 90_000);
});
