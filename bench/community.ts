// The community game at scale: one server with 100,000 outputs (spread over 90 days) and
// 1,000,000 votes, in a real Redis of its own (deleted afterwards). Prints
// /weirdest latency per period and ranking, a vote's cost, and memory per 1,000 outputs.
//
//   npm run bench:community      (BENCH_OUTPUTS, BENCH_VOTES, BENCH_READS to adjust;
//                                 BENCH_REDIS_URL to use a running Redis instead of its own)
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { CommunityStore } from "../src/store/community.js";
import { PERIODS, type RankedBy } from "../src/store/keys.js";
import { DAY_MS, OutputStore, type OutputRecord } from "../src/store/outputs.js";

const OUTPUTS = Number(process.env.BENCH_OUTPUTS ?? 100_000);
const VOTES = Number(process.env.BENCH_VOTES ?? 1_000_000);
const READS = Number(process.env.BENCH_READS ?? 300);
const GUILD = "900000000000000002";
const AUTHORS = 500;
const BATCH = 2000;

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const ms = (value: number) => value.toFixed(2);

async function timed(runs: number, work: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  return times;
}

/** Times work and, interleaved with it, a bare PING: the floor the machine sets at that moment. */
async function timedBeside(redis: Redis, runs: number, work: () => Promise<unknown>): Promise<[number[], number[]]> {
  const times: number[] = [];
  const pings: number[] = [];
  for (let i = 0; i < runs; i++) {
    times.push(...(await timed(1, work)));
    pings.push(...(await timed(1, () => redis.ping())));
  }
  return [times, pings];
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 5000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
}

/**
 * A Redis of its own (unless BENCH_REDIS_URL is given): its memory figures and its slow log
 * (every call's server-side time) then hold this benchmark's work only, not the neighbours'.
 */
async function privateRedis(): Promise<{ url: string; stop: () => void }> {
  if (process.env.BENCH_REDIS_URL) return { url: process.env.BENCH_REDIS_URL, stop: () => undefined };
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch (error) {
      probe.disconnect();
      if (i > 100) throw error;
      await new Promise(resolve => setTimeout(resolve, 50));
    }
  }
  return { url, stop: () => server.kill("SIGKILL") };
}

/** Server-side time of each script call while `work` runs, from the slow log (threshold 0). */
async function serverTimes(redis: Redis, work: () => Promise<unknown>): Promise<number[]> {
  await redis.slowlog("RESET");
  await redis.config("SET", "slowlog-log-slower-than", "0");
  await work();
  await redis.config("SET", "slowlog-log-slower-than", "-1");
  const entries = (await redis.slowlog("GET", 1_000_000)) as Array<[number, number, number, string[]]>;
  await redis.slowlog("RESET");
  return entries.filter(entry => /^eval/i.test(entry[3][0] ?? "")).map(entry => entry[2] / 1000);
}

async function main(): Promise<void> {
  const own = await privateRedis();
  const redis = new Redis(own.url);
  // The slow log logs only while serverTimes measures (it keeps every argument: memory).
  await redis.config("SET", "slowlog-log-slower-than", "-1");
  await redis.config("SET", "slowlog-max-len", "100000");
  const prefix = `{bzbench-${randomUUID().slice(0, 8)}}`;
  const outputs = new OutputStore(redis, prefix, 90 * DAY_MS);
  const community = new CommunityStore(redis, prefix, outputs);
  const end = Date.now();
  const start = end - 89 * DAY_MS;
  try {
    const before = await usedMemory(redis);
    const records: OutputRecord[] = [];
    let clock = performance.now();
    // Saved in the order they were made, each save trimming what aged out, as in production.
    for (let i = 0; i < OUTPUTS; i += BATCH) {
      const batch: Array<Promise<void>> = [];
      for (let j = i; j < Math.min(OUTPUTS, i + BATCH); j++) {
        const createdAt = Math.floor(start + ((end - start) * j) / OUTPUTS);
        const record: OutputRecord = {
          id: randomUUID(),
          guildId: GUILD,
          channelId: "900000000000000003",
          messageId: String(1300000000000000000n + BigInt(j)),
          authorId: String(800000000000000000n + BigInt(j % AUTHORS)),
          prompt: "Once upon a time there was a strange little model",
          temperature: [-0.001, -1, 0.7, 1, -0.5][j % 5]!,
          maxTokens: 64,
          seed: j,
          model: "stories260K.gguf",
          text: "Хронологија entferne Kontrola ||||".repeat(8),
          createdAt,
          surprisal: 10 + ((j * 7919) % 2000) / 100,
        };
        records.push(record);
        batch.push(outputs.save(record, createdAt));
      }
      await Promise.all(batch);
    }
    const afterOutputs = await usedMemory(redis);
    const saveSeconds = (performance.now() - clock) / 1000;

    // Skewed popularity: a few outputs get many votes, most get a few.
    const perOutput = new Array<number>(OUTPUTS).fill(0);
    for (let v = 0; v < VOTES; v++) perOutput[Math.floor(OUTPUTS * Math.random() ** 3)]!++;
    clock = performance.now();
    let pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < OUTPUTS; i++) {
      for (let k = 0; k < perOutput[i]!; k++) {
        pending.push(outputs.toggleVote(records[i]!.id, String(810000000000000000n + BigInt(k)), { selfVotes: true }));
        if (pending.length >= BATCH) {
          await Promise.all(pending);
          pending = [];
        }
      }
    }
    await Promise.all(pending);
    const voteSeconds = (performance.now() - clock) / 1000;
    const afterVotes = await usedMemory(redis);

    console.log(
      `Filled one server: ${OUTPUTS} outputs over 89 days (${saveSeconds.toFixed(1)} s), ${VOTES} votes (${voteSeconds.toFixed(1)} s, ${Math.round(VOTES / voteSeconds)} votes/s pipelined)\n`,
    );
    // Side by side: a bare PING over the same connection is the floor this shared machine sets.
    const ping = await timed(READS, () => redis.ping());
    console.log(`PING (the machine's floor) p50 / p99: ${ms(percentile(ping, 50))} / ${ms(percentile(ping, 99))} ms\n`);
    console.log(`/weirdest, top 10 (Redis script + records), ${READS} reads each:\n`);
    console.log(
      "| period | by | round trip p50 / p99 ms | PING beside it p99 ms | in Redis p50 / p99 ms | member filter: round trip p50 / p99, in Redis p99 ms |",
    );
    console.log("|---|---|---|---|---|---|");
    const now = end + 1000;
    for (const period of PERIODS)
      for (const by of ["votes", "weirdness"] as RankedBy[]) {
        let board: number[] = [];
        let pings: number[] = [];
        let member: number[] = [];
        const boardServer = await serverTimes(redis, async () => {
          [board, pings] = await timedBeside(redis, READS, () => community.weirdest(GUILD, { period, by, now }));
        });
        const memberServer = await serverTimes(redis, async () => {
          member = await timed(READS, () =>
            community.weirdest(GUILD, { period, by, now, memberId: String(800000000000000000n + BigInt(7)) }),
          );
        });
        console.log(
          `| ${period} | ${by} | ${ms(percentile(board, 50))} / ${ms(percentile(board, 99))} | ${ms(percentile(pings, 99))} | ${ms(percentile(boardServer, 50))} / ${ms(percentile(boardServer, 99))} | ${ms(percentile(member, 50))} / ${ms(percentile(member, 99))}, ${ms(percentile(memberServer, 99))} |`,
        );
      }
    const members = await timed(READS, () => community.members(GUILD, "week", { now }));
    const stats = await timed(READS, () => community.stats(GUILD, now));
    console.log(
      `\n/weirdest-members week p50 / p99: ${ms(percentile(members, 50))} / ${ms(percentile(members, 99))} ms`,
    );
    console.log(`/weird-stats p50 / p99: ${ms(percentile(stats, 50))} / ${ms(percentile(stats, 99))} ms`);

    // A vote at full size, one at a time: a popular output and an ordinary one, vote and take back.
    const popular = records[0]!.id;
    const ordinary = records[OUTPUTS - 1]!.id;
    let voteTimes: number[] = [];
    const voteServer = await serverTimes(redis, async () => {
      voteTimes = await timed(READS, async () => {
        for (const id of [popular, ordinary]) await outputs.toggleVote(id, "830000000000000000", { selfVotes: true });
      });
    });
    const perVote = voteTimes.map(t => t / 2);
    console.log(
      `\nA vote (toggle): round trip p50 ${ms(percentile(perVote, 50))} ms, p99 ${ms(percentile(perVote, 99))} ms; ` +
        `in Redis p50 ${(percentile(voteServer, 50) * 1000).toFixed(0)} µs, p99 ${(percentile(voteServer, 99) * 1000).toFixed(0)} µs`,
    );
    const perThousand = (bytes: number) => `${((bytes / OUTPUTS) * 1000) / 1024 / 1024}`.slice(0, 5);
    console.log(
      `\nMemory per 1,000 outputs: ${perThousand(afterOutputs - before)} MiB with no votes, ${perThousand(afterVotes - before)} MiB with ${VOTES / OUTPUTS} votes each on average (records, vote sets and boards; used_memory delta)`,
    );
  } finally {
    await deletePrefix(redis, prefix);
    redis.disconnect();
    own.stop();
  }
}

await main();
