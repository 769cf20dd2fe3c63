// /metrics and /healthz, read over HTTP after a real flow: bot and worker on real Redis, the
// real engine, the fake Discord (failing once where the test says).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { startObservabilityServer, type ObservabilityServer } from "../../src/observability/server.js";
import { metricsText, modelQueueMetrics } from "../../src/observability/metrics.js";
import { ModelRegistry } from "../../src/store/models.js";
import { loadTestEngine } from "../helpers/engine.js";
import { FakeDiscord } from "../helpers/fakeDiscord.js";
import {
  botConfig,
  deleteKeys,
  slashWeird,
  startBot,
  startWorker,
  testPrefix,
  type TestBot,
} from "../helpers/discordBot.js";

let engine: Engine;
let discord: FakeDiscord;
const prefix = testPrefix();
let bot: TestBot;
let worker: ReturnType<typeof startWorker>;
let server: ObservabilityServer;
let healthy = true;

beforeAll(async () => {
  engine = await loadTestEngine();
  discord = await new FakeDiscord().start();
  bot = await startBot(botConfig(discord.url, prefix, { cooldownMs: 60_000 }));
  worker = startWorker(engine, discord.url, prefix);
  server = await startObservabilityServer(0, () => ({ redis: bot.ctx.redisReady(), worker: healthy }), [
    () => bot.ctx.queue.exportPrometheusMetrics(),
    // As the bot serves them (src/bot/main.ts).
    () => modelQueueMetrics(bot.ctx.models, bot.ctx.queues),
  ]);
});
afterAll(async () => {
  await server?.close();
  await worker?.close();
  await bot?.close();
  await discord?.stop();
  await deleteKeys(prefix);
  await engine?.dispose();
});

const get = (path: string) => fetch(`http://127.0.0.1:${server.port}${path}`);
/** The value of one sample line of the Prometheus text, e.g. `belowzero_jobs_total{outcome="completed",model="m"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find(l => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics", () => {
  it("counts jobs, generation time and speed by sign, first edits, refusals and Discord errors", async () => {
    // The first streaming edit of the first job fails once with a 500 (retried by discord.js).
    discord.failures.push({
      match: r => r.method === "PATCH" && /generating/.test(String(r.body?.content)),
      status: 500,
      times: 1,
    });
    const below = slashWeird({ prompt: "Once upon a time", temp: -1, maxTokens: 16, userId: "800000000000000101" });
    const above = slashWeird({ prompt: "Once upon a time", temp: 1, maxTokens: 16, userId: "800000000000000102" });
    const again = slashWeird({ prompt: "Once upon a time", temp: 1, userId: "800000000000000102" });
    bot.inject(below);
    bot.inject(above);
    while ((await bot.ctx.queue.getCompletedCount()) < 2) await new Promise(resolve => setTimeout(resolve, 20));
    bot.inject(again); // within the cooldown
    await discord.waitFor(r => r.path.includes(again.token));
    const muted = slashWeird({ prompt: "Once upon a time", userId: "800000000000000103", permissions: "0" });
    bot.inject(muted); // may not post in this channel
    await discord.waitFor(r => r.path.includes(muted.token));

    const response = await get("/metrics");
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    // By model too (stories260K calls itself "llama"): a worker serving several tells them apart.
    expect(sample(text, 'belowzero_jobs_total{outcome="completed",model="llama"}')).toBe(2);
    expect(sample(text, 'belowzero_generation_seconds_count{sign="negative",model="llama"}')).toBe(1);
    expect(sample(text, 'belowzero_generation_seconds_count{sign="positive",model="llama"}')).toBe(1);
    expect(sample(text, 'belowzero_generation_tokens_per_second_count{sign="negative",model="llama"}')).toBe(1);
    expect(sample(text, 'belowzero_generation_tokens_per_second_sum{sign="positive",model="llama"}')).toBeGreaterThan(
      0,
    );
    expect(sample(text, "belowzero_time_to_first_edit_seconds_count")).toBe(2);
    expect(sample(text, 'belowzero_refusals_total{reason="cooldown"}')).toBe(1);
    expect(sample(text, 'belowzero_refusals_total{reason="no_send_permission"}')).toBe(1);
    expect(sample(text, 'belowzero_discord_rest_errors_total{status="500"}')).toBe(1);
    expect(sample(text, "nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    // BullMQ's own: depth by state, and its completed counter.
    expect(sample(text, 'bullmq_job_count{queue="weird", state="completed"}')).toBe(2);
    expect(sample(text, 'bullmq_job_count{queue="weird", state="waiting"}')).toBe(0);
    expect(sample(text, 'bullmq_job_completed_total{queue="weird"}')).toBe(2);
  });
});

describe("per-model queue metrics", () => {
  it("give each queue's waiting, active and delayed jobs once, the models each serves, and each model's live workers", async () => {
    // A second model whose worker is gone: its entry stays known, its queue holds two jobs.
    const registry = new ModelRegistry(bot.redis, prefix);
    const info = { file: "idle.gguf", sizeBytes: 1, type: "llama", vocabularySize: 32000, contextSize: 256 };
    await registry.heartbeat({ ...info, id: "idle", workerId: "gone-1", queue: "weird-idle", tokensPerSecond: null });
    await registry.remove("gone-1");
    // A third model on the shared queue beside the served one: the queue's jobs must not count twice.
    await registry.heartbeat({ ...info, id: "shared2", workerId: "gone-2", queue: "weird", tokensPerSecond: null });
    await registry.remove("gone-2");
    const idle = bot.ctx.queues.get("weird-idle");
    await idle.add("weird", { n: 1 }, { priority: 1 });
    await idle.add("weird", { n: 2 }, { delay: 60_000 });
    const shared = bot.ctx.queues.get("weird");
    await shared.add("weird", { n: 3 }, { delay: 60_000, jobId: "metrics-shared" });
    await worker.heartbeat.beat();
    const text = await (await get("/metrics")).text();
    const served = worker.heartbeat.info.id;
    expect(sample(text, `belowzero_queue_jobs{queue="weird-idle",state="waiting"}`)).toBe(1);
    expect(sample(text, `belowzero_queue_jobs{queue="weird-idle",state="delayed"}`)).toBe(1);
    expect(sample(text, `belowzero_queue_jobs{queue="weird-idle",state="active"}`)).toBe(0);
    expect(sample(text, `belowzero_queue_jobs{queue="weird",state="waiting"}`)).toBe(0);
    expect(sample(text, `belowzero_queue_jobs{queue="weird",state="delayed"}`)).toBe(1);
    // One series per queue and state, so sums over queues are the jobs there are.
    const delayed = text.split("\n").filter(l => /^belowzero_queue_jobs\{.*state="delayed"\}/.test(l));
    expect(delayed.reduce((n, l) => n + Number(l.split(" ").at(-1)), 0)).toBe(2);
    expect(sample(text, `belowzero_model_queue{model="idle",queue="weird-idle"}`)).toBe(1);
    expect(sample(text, `belowzero_model_queue{model="${served}",queue="weird"}`)).toBe(1);
    expect(sample(text, `belowzero_model_queue{model="shared2",queue="weird"}`)).toBe(1);
    expect(sample(text, `belowzero_model_workers{model="idle"}`)).toBe(0);
    expect(sample(text, `belowzero_model_workers{model="${served}"}`)).toBe(1);
    await idle.obliterate({ force: true });
    await shared.remove("metrics-shared");
  });
});

describe("several queues in one worker process", () => {
  it("serves BullMQ's families once each, every queue's samples together, as Prometheus requires", async () => {
    // As src/worker/main.ts serves them for a worker with MODELS: one export per model's queue.
    const queues = ["weird-a", "weird-b"].map(name => bot.ctx.queues.get(name));
    await queues[1]!.add("weird", { n: 1 }, { delay: 60_000 });
    const text = await metricsText(queues.map(queue => () => queue.exportPrometheusMetrics()));
    const lines = text.trimEnd().split("\n");
    const helps = lines.filter(line => line.startsWith("# HELP ")).map(line => line.split(" ")[2]);
    expect(new Set(helps).size).toBe(helps.length);
    expect(helps).toEqual(
      expect.arrayContaining(["bullmq_job_count", "bullmq_job_completed_total", "belowzero_jobs_total"]),
    );
    // Each family's lines in one run: once another family begins, it never comes back.
    const seen: string[] = [];
    for (const line of lines) {
      const name = (/^# (?:HELP|TYPE) (\S+)/.exec(line)?.[1] ?? /^([a-zA-Z_:][\w:]*)/.exec(line)?.[1])!;
      const family = [name, name.replace(/_(bucket|sum|count)$/, "")].find(n => helps.includes(n)) ?? name;
      if (seen.at(-1) !== family) {
        expect(seen).not.toContain(family);
        seen.push(family);
      }
    }
    expect(sample(text, `bullmq_job_count{queue="weird-a", state="delayed"}`)).toBe(0);
    expect(sample(text, `bullmq_job_count{queue="weird-b", state="delayed"}`)).toBe(1);
    expect(sample(text, `bullmq_job_failed_total{queue="weird-a"}`)).toBe(0);
    expect(sample(text, `bullmq_job_failed_total{queue="weird-b"}`)).toBe(0);
    await queues[1]!.obliterate({ force: true });
  });
});

describe("/healthz", () => {
  it("answers 200 with every check when all pass, 503 naming the one that does not", async () => {
    healthy = true;
    let response = await get("/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ healthy: true, checks: { redis: true, worker: true } });
    healthy = false;
    response = await get("/healthz");
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ healthy: false, checks: { redis: true, worker: false } });
  });
});
