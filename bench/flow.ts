// /weird end to end on stories260K: real bot objects, real Redis, the real engine and a
// local fake Discord. Prints latency percentiles with 1 and with 20 users at once.
//
//   npm run bench:flow          (BENCH_TOKENS, WORKER_CONCURRENCY to adjust)
import { loadTestEngine, removeTemporaryFolders } from "../test/helpers/engine.js";
import { FakeDiscord } from "../test/helpers/fakeDiscord.js";
import { botConfig, deleteKeys, slashWeird, startBot, startWorker, testPrefix } from "../test/helpers/discordBot.js";

const TOKENS = Number(process.env.BENCH_TOKENS ?? 64);
const CONCURRENCY = Number(process.env.WORKER_CONCURRENCY ?? 1);

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const row = (label: string, values: number[]) =>
  `| ${label} | ${percentile(values, 50).toFixed(1)} | ${percentile(values, 99).toFixed(1)} |`;

async function run(users: number): Promise<string[]> {
  const discord = await new FakeDiscord().start();
  const prefix = testPrefix();
  const engine = await loadTestEngine({ concurrency: CONCURRENCY });
  const bot = await startBot(botConfig(discord.url, prefix, { maxPerGuild: 1000, maxTotal: 1000 }));
  const worker = startWorker(engine, discord.url, prefix, { editIntervalMs: 1000 });
  worker.worker.concurrency = CONCURRENCY;
  try {
    const raws = Array.from({ length: users }, (_, i) =>
      slashWeird({
        prompt: "Once upon a time",
        temp: -1,
        maxTokens: TOKENS,
        seed: i,
        userId: String(810000000000000000n + BigInt(i)),
      }),
    );
    const injectedAt = new Map<string, number>();
    for (const raw of raws) {
      injectedAt.set(raw.token, performance.now() + performance.timeOrigin);
      bot.inject(raw);
    }
    const at = (token: string, predicate: (content: string, final: boolean) => boolean) =>
      discord.waitFor(
        r =>
          r.path.includes(token) &&
          r.method !== "POST" &&
          predicate(String(r.body?.content), ((r.body?.components as unknown[]) ?? []).length > 0),
        120_000,
      );
    const defer: number[] = [],
      firstEdit: number[] = [],
      final: number[] = [],
      start: number[] = [];
    for (const raw of raws) {
      const t0 = injectedAt.get(raw.token)!;
      const callback = await discord.waitFor(r => r.path.includes(raw.token) && r.path.endsWith("/callback"));
      defer.push(callback.at - t0);
      const first = await at(raw.token, (content, isFinal) => content.includes("generating…") || isFinal);
      firstEdit.push(first.at - t0);
      final.push((await at(raw.token, (_, isFinal) => isFinal)).at - t0);
    }
    // The final message goes out just before the job is marked complete.
    while ((await bot.ctx.queue.getCompletedCount()) < users) await new Promise(resolve => setTimeout(resolve, 20));
    for (const job of await bot.ctx.queue.getJobs(["completed"])) start.push(job.processedOn! - job.timestamp);
    return [
      row(`${users} user(s): interaction → deferred reply`, defer),
      row(`${users} user(s): enqueue → job start`, start),
      row(`${users} user(s): interaction → first edit`, firstEdit),
      row(`${users} user(s): interaction → final message`, final),
    ];
  } finally {
    await worker.close();
    await bot.close();
    await engine.dispose();
    await discord.stop();
    await deleteKeys(prefix);
  }
}

console.log(
  `/weird end to end: stories260K, ${TOKENS} tokens at T = −1, ${CONCURRENCY} generation(s) at a time, CPU, 1 thread\n`,
);
console.log("| measure | p50 ms | p99 ms |\n|---|---|---|");
for (const users of [1, 20]) for (const line of await run(users)) console.log(line);
removeTemporaryFolders();
