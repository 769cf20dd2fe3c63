// npm run index-outputs on one Redis and on a Redis Cluster (started here): records from
// before the community game get the retention and reach their server's boards, on every master.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommunityStore } from "../../src/store/community.js";
import { RedisKeys } from "../../src/store/keys.js";
import { DAY_MS, OutputStore, type OutputRecord } from "../../src/store/outputs.js";
import { workerConnection } from "../../src/store/redis.js";
import { REDIS_URL } from "../helpers/discordBot.js";

const run = promisify(execFile);
const GUILD = "900000000000000002";

function legacyRecord(n: number): OutputRecord {
  return {
    id: randomUUID(),
    guildId: GUILD,
    channelId: "900000000000000003",
    messageId: "900000000000000009",
    authorId: `80000000000000000${n}`,
    prompt: "Once upon a time",
    temperature: -0.5,
    maxTokens: 16,
    seed: n,
    model: "stories260K.gguf",
    text: `output ${n}`,
    createdAt: Date.now() - n * 1000,
    surprisal: 3 + n,
  };
}

/** Writes a record as it was before the community game: no expiry, on no board. */
async function writeLegacy(redis: Redis, prefix: string, record: OutputRecord, voters: string[]): Promise<void> {
  const keys = new RedisKeys(prefix);
  await redis.set(keys.output(record.id), JSON.stringify(record));
  if (voters.length > 0) await redis.sadd(keys.votes(record.id), ...voters);
}

async function indexOutputs(redisUrl: string, prefix: string): Promise<string> {
  const { stdout } = await run("npx", ["tsx", "scripts/index-outputs.ts"], {
    env: { ...process.env, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, DISCORD_TOKEN: "test-token" },
    timeout: 60_000,
  });
  return stdout;
}

async function expectIndexed(redis: Redis, prefix: string, records: OutputRecord[], votes: number[]) {
  const keys = new RedisKeys(prefix);
  for (const record of records) expect(await redis.pttl(keys.output(record.id))).toBeGreaterThan(0);
  const outputs = new OutputStore(redis, prefix, 90 * DAY_MS);
  const board = await new CommunityStore(redis, prefix, outputs).weirdest(GUILD, { period: "all", by: "votes" });
  expect(board.map(entry => [entry.outputId, entry.votes])).toEqual(records.map((record, i) => [record.id, votes[i]]));
}

describe("index-outputs on one Redis", () => {
  let redis: Redis;
  beforeAll(() => void (redis = workerConnection(REDIS_URL)));
  afterAll(() => redis.disconnect());

  it("gives old records the retention and puts them on the boards with their votes", async () => {
    const prefix = `{bzidx-${randomUUID()}}`;
    const records = [legacyRecord(1), legacyRecord(2)];
    await writeLegacy(redis, prefix, records[0]!, ["1", "2"]);
    await writeLegacy(redis, prefix, records[1]!, []);
    expect(await indexOutputs(REDIS_URL, prefix)).toContain("Indexed 2 outputs");
    await expectIndexed(redis, prefix, records, [2, 0]);
    expect(await indexOutputs(REDIS_URL, prefix)).toContain("Indexed 0 outputs"); // twice does no harm
    await expectIndexed(redis, prefix, records, [2, 0]);
  });
});

describe("index-outputs on a Redis Cluster", () => {
  // A port range of this run's own, so parallel runs (and CI's cluster on 7101) do not meet.
  const firstPort = String(7200 + (process.pid % 60) * 3);
  let url = "";
  let cluster: Redis;
  beforeAll(async () => {
    url = (await run("scripts/redis-cluster.sh", ["start", firstPort])).stdout.trim();
    cluster = workerConnection(url);
  }, 60_000);
  afterAll(async () => {
    cluster?.disconnect();
    await run("scripts/redis-cluster.sh", ["stop", firstPort]);
  });

  it("scans every master: prefixes whose slot is on each of the three are all indexed", async () => {
    // One prefix per master: SCAN on a cluster client reads a single node, so a script that
    // scanned one would miss two of these.
    const owners = new Map<string, string>();
    const slots = await cluster.cluster("SLOTS");
    for (let i = 0; owners.size < 3 && i < 500; i++) {
      const prefix = `{bzidx-${randomUUID()}}`;
      const slot = await cluster.cluster("KEYSLOT", prefix);
      const [host, port] = slots.find(([from, to]) => slot >= from && slot <= to)![2]!;
      if (![...owners.values()].includes(`${host}:${port}`)) owners.set(prefix, `${host}:${port}`);
    }
    expect(owners.size).toBe(3);
    for (const prefix of owners.keys()) {
      const records = [legacyRecord(3), legacyRecord(4)];
      await writeLegacy(cluster, prefix, records[0]!, ["1"]);
      await writeLegacy(cluster, prefix, records[1]!, ["1", "2", "3"]);
      expect(await indexOutputs(url, prefix)).toContain("Indexed 2 outputs");
      await expectIndexed(cluster, prefix, records.reverse(), [3, 1]);
    }
  }, 120_000);
});
