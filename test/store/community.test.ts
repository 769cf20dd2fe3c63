// The community game's Redis model against real Redis: boards, ties, rolling windows with an
// injected clock, the member filter, stats, retention and hall-of-fame claims.
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommunityStore } from "../../src/store/community.js";
import { DAY_MS, OutputStore, type OutputRecord } from "../../src/store/outputs.js";
import { deleteKeys, REDIS_URL, testPrefix } from "../helpers/discordBot.js";
import { MEMBER_OUTPUTS_KEPT, RedisKeys } from "../../src/store/keys.js";

const GUILD = "900000000000000002";
const ALICE = "800000000000000001";
const BOB = "800000000000000002";
// Boards follow the injected clock; record TTLs follow Redis's, so the story starts now.
const T0 = Date.now();

let redis: Redis;
let prefix: string;
let outputs: OutputStore;
let community: CommunityStore;

beforeEach(() => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix();
  outputs = new OutputStore(redis, prefix, 90 * DAY_MS);
  community = new CommunityStore(redis, prefix, outputs);
});
afterEach(async () => {
  redis.disconnect();
  await deleteKeys(prefix);
});

let serial = 0;
async function output(fields: Partial<OutputRecord> & { createdAt: number }): Promise<OutputRecord> {
  const record: OutputRecord = {
    id: `out-${++serial}`,
    guildId: GUILD,
    channelId: "900000000000000003",
    messageId: `7000000000000000${serial}`,
    authorId: ALICE,
    prompt: "Once upon a time",
    temperature: -0.001,
    maxTokens: 8,
    seed: 1,
    model: "stories260K.gguf",
    text: "||||",
    ...fields,
  };
  await outputs.save(record, record.createdAt);
  return record;
}

async function vote(record: OutputRecord, voters: number, at: number): Promise<void> {
  for (let i = 0; i < voters; i++)
    await outputs.toggleVote(record.id, String(810000000000000000n + BigInt(i)), { selfVotes: false, now: at });
}

const ids = (entries: Array<{ outputId: string }>) => entries.map(entry => entry.outputId);

describe("votes", () => {
  it("are (output, member) pairs: 50 at once count 50, a second click takes a vote back", async () => {
    const record = await output({ createdAt: T0 });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        outputs.toggleVote(record.id, String(810000000000000000n + BigInt(i)), { selfVotes: false }),
      ),
    );
    expect(await outputs.voteCount(record.id)).toBe(50);
    expect(await outputs.toggleVote(record.id, "810000000000000000", { selfVotes: false })).toEqual({
      outcome: "unvoted",
      count: 49,
    });
    const [top] = await community.weirdest(GUILD, { period: "all", by: "votes", now: T0 });
    expect(top).toMatchObject({ outputId: record.id, votes: 49 });
    // A retry of a click that got no answer changes nothing if that click ran, else toggles.
    const alice = "810000000000000000";
    expect(await outputs.toggleVote(record.id, alice, { selfVotes: false, click: "c1" })).toEqual({
      outcome: "voted",
      count: 50,
    });
    const retry = { selfVotes: false, click: "c2", retryOf: "c1" };
    expect(await outputs.toggleVote(record.id, alice, retry)).toEqual({ outcome: "voted", count: 50 });
    const [again] = await community.weirdest(GUILD, { period: "all", by: "votes", now: T0 });
    expect(again).toMatchObject({ outputId: record.id, votes: 50 });
    const neverRan = { selfVotes: false, click: "c3", retryOf: "lost" };
    expect(await outputs.toggleVote(record.id, alice, neverRan)).toEqual({ outcome: "unvoted", count: 49 });
    expect(await outputs.toggleVote(record.id, alice, { ...retry, click: "c4", retryOf: "c3" })).toEqual({
      outcome: "unvoted",
      count: 49,
    });
  });

  it("self-votes follow the setting, and taking one back is always allowed", async () => {
    const record = await output({ createdAt: T0 });
    expect(await outputs.toggleVote(record.id, ALICE, { selfVotes: false })).toEqual({
      outcome: "refused-self",
      count: 0,
    });
    expect(await outputs.toggleVote(record.id, ALICE, { selfVotes: true })).toEqual({ outcome: "voted", count: 1 });
    expect(await outputs.toggleVote(record.id, ALICE, { selfVotes: false })).toEqual({ outcome: "unvoted", count: 0 });
  });

  it("an output that is not on record (expired) says so", async () => {
    expect(await outputs.toggleVote("gone", BOB, { selfVotes: true })).toEqual({ outcome: "expired" });
  });
});

describe("/weirdest boards", () => {
  it("rank by votes, then weirder, then newer; by weirdness, then votes, then newer", async () => {
    const a = await output({ createdAt: T0, surprisal: 20 });
    const b = await output({ createdAt: T0 + 1, surprisal: 25 });
    const c = await output({ createdAt: T0 + 2, surprisal: 25 });
    const d = await output({ createdAt: T0 + 3 }); // no weirdness score
    const e = await output({ createdAt: T0 + 4, surprisal: 1 });
    await vote(a, 3, T0 + 10);
    await vote(b, 1, T0 + 10);
    await vote(c, 1, T0 + 10);
    await vote(d, 3, T0 + 10);
    const now = T0 + 100;
    expect(ids(await community.weirdest(GUILD, { period: "all", by: "votes", now }))).toEqual([
      a.id, // 3 votes, weirder than d
      d.id,
      c.id, // 1 vote, as weird as b but newer
      b.id,
      e.id,
    ]);
    const byWeirdness = await community.weirdest(GUILD, { period: "all", by: "weirdness", now });
    expect(ids(byWeirdness)).toEqual([c.id, b.id, a.id, e.id]);
    expect(byWeirdness.map(entry => entry.votes)).toEqual([1, 1, 3, 0]);
    expect(byWeirdness[0]!.output).toMatchObject({ surprisal: 25, text: "||||" });
  });

  it("periods are rolling windows, and the member filter keeps one author's outputs", async () => {
    const old = await output({ createdAt: T0, authorId: BOB });
    const lastWeek = await output({ createdAt: T0 + 20 * DAY_MS });
    const yesterday = await output({ createdAt: T0 + 25 * DAY_MS + 1000, authorId: BOB });
    const today = await output({ createdAt: T0 + 26 * DAY_MS });
    await vote(old, 4, T0 + 1000);
    await vote(lastWeek, 3, T0 + 20 * DAY_MS);
    await vote(yesterday, 2, T0 + 25 * DAY_MS + 2000);
    const now = T0 + 26 * DAY_MS + 500;
    const board = (period: "day" | "week" | "month" | "all", memberId?: string) =>
      community.weirdest(GUILD, { period, by: "votes", now, ...(memberId && { memberId }) }).then(ids);
    expect(await board("day")).toEqual([yesterday.id, today.id]);
    expect(await board("week")).toEqual([lastWeek.id, yesterday.id, today.id]);
    expect(await board("month")).toEqual([old.id, lastWeek.id, yesterday.id, today.id]);
    expect(await board("all", BOB)).toEqual([old.id, yesterday.id]);
    expect(await board("day", BOB)).toEqual([yesterday.id]);

    // A day later "yesterday" has left the day's board, and a vote on it counts only where it still is.
    const later = now + DAY_MS;
    await outputs.toggleVote(yesterday.id, "820000000000000000", { selfVotes: false, now: later });
    expect(ids(await community.weirdest(GUILD, { period: "day", by: "votes", now: later }))).toEqual([]);
    const [top] = await community.weirdest(GUILD, { period: "week", by: "votes", now: later });
    expect(top).toMatchObject({ outputId: yesterday.id, votes: 3 });
    expect(await community.members(GUILD, "week", { now: later })).toEqual([
      { memberId: BOB, votesReceived: 3, outputsMade: 1 },
      { memberId: ALICE, votesReceived: 0, outputsMade: 1 }, // lastWeek is 7 days and 500 ms old now
    ]);
  });

  it("an empty board is empty, not an error", async () => {
    expect(await community.weirdest(GUILD, { period: "week", by: "weirdness" })).toEqual([]);
    expect(await community.members(GUILD, "all")).toEqual([]);
  });
});

describe("retention", () => {
  it("drops expired outputs and their votes from every board and from the stats", async () => {
    const shortLived = new OutputStore(redis, prefix, 3 * DAY_MS);
    const board = new CommunityStore(redis, prefix, shortLived);
    const first = { ...(await output({ createdAt: T0, temperature: -5 })) };
    await shortLived.save(first, T0);
    const second = await output({ createdAt: T0 + 2 * DAY_MS, temperature: 0.7, authorId: BOB });
    await vote(first, 2, T0 + 1000);
    await vote(second, 1, T0 + 2 * DAY_MS);
    expect(await board.stats(GUILD, T0 + 2 * DAY_MS)).toMatchObject({ outputs: 2, votes: 3, coldest: -5 });

    const now = T0 + 3 * DAY_MS + 1;
    expect(ids(await board.weirdest(GUILD, { period: "all", by: "votes", now }))).toEqual([second.id]);
    expect(await board.members(GUILD, "all", { now })).toEqual([{ memberId: BOB, votesReceived: 1, outputsMade: 1 }]);
    expect(await board.stats(GUILD, now)).toMatchObject({
      outputs: 1,
      votes: 1,
      coldest: 0.7,
      hottest: 0.7,
      belowZero: 0,
      aboveZero: 1,
    });
    expect(await shortLived.get(first.id)).toBeUndefined();
    expect(await redis.exists(new RedisKeys(prefix).votes(first.id))).toBe(0);
    // The record itself expires on its own too, even in a server nobody looks at again.
    expect(await redis.pttl(new RedisKeys(prefix).output(second.id))).toBeGreaterThan(0);
  });

  it("drops an output nobody voted for when it leaves the retention (the trim must not fail on none)", async () => {
    const shortLived = new OutputStore(redis, prefix, 3 * DAY_MS);
    const board = new CommunityStore(redis, prefix, shortLived);
    const unvoted = await output({ createdAt: T0, modelId: "tiny" });
    await shortLived.save(unvoted, T0);
    const now = T0 + 3 * DAY_MS + 1;
    expect(await board.weirdest(GUILD, { period: "all", by: "votes", now })).toEqual([]);
    expect(await board.stats(GUILD, now)).toMatchObject({ outputs: 0, votes: 0 });
  });

  it("catches up in bounded steps after a quiet spell, without losing count", async () => {
    const many = 1200; // more than one trim step (500) takes
    await Promise.all(
      Array.from({ length: many }, (_, i) =>
        output({ createdAt: T0 + i, authorId: i % 2 === 0 ? ALICE : BOB }).then(record =>
          i === many - 1 ? vote(record, 2, T0 + many) : undefined,
        ),
      ),
    );
    const later = T0 + 2 * DAY_MS;
    let reads = 0;
    while ((await community.weirdest(GUILD, { period: "day", by: "votes", now: later })).length > 0) reads++;
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(3);
    expect(await community.members(GUILD, "day", { now: later })).toEqual([]);
    expect(await community.members(GUILD, "week", { now: later })).toEqual([
      { memberId: BOB, votesReceived: 2, outputsMade: 600 },
      { memberId: ALICE, votesReceived: 0, outputsMade: 600 },
    ]);
    expect(await community.stats(GUILD, later)).toMatchObject({ outputs: many, votes: 2 });
  });
});

describe("/weird-stats", () => {
  it("counts outputs, votes, players, T extremes, the most voted and the sides of zero", async () => {
    const cold = await output({ createdAt: T0, temperature: -1 });
    await output({ createdAt: T0 + 1, temperature: -0.001 });
    await output({ createdAt: T0 + 2, temperature: 0, authorId: BOB });
    const hot = await output({ createdAt: T0 + 3, temperature: 1.5 });
    await vote(hot, 2, T0 + 10);
    await vote(cold, 1, T0 + 10);
    const stats = await community.stats(GUILD, T0 + 100);
    expect(stats).toMatchObject({
      outputs: 4,
      votes: 3,
      players: 4, // two authors, two voters
      coldest: -1,
      hottest: 1.5,
      belowZero: 2,
      nearZero: 2,
      aboveZero: 1,
    });
    expect(stats.mostVoted).toMatchObject({ outputId: hot.id, votes: 2 });
  });
});

describe("per-model boards and stats", () => {
  it("rank and count each model's outputs on its own, follow votes, and leave with the retention", async () => {
    const shortLived = new OutputStore(redis, prefix, 3 * DAY_MS);
    const store = new CommunityStore(redis, prefix, shortLived);
    const save = async (fields: Partial<OutputRecord> & { createdAt: number }) => {
      const record = await output(fields);
      await shortLived.save(record, record.createdAt);
      return record;
    };
    const tinyOld = await save({ createdAt: T0, modelId: "tiny", temperature: -2, surprisal: 30 });
    const tinyNew = await save({ createdAt: T0 + 2 * DAY_MS, modelId: "tiny", temperature: 1, surprisal: 2 });
    const spm = await save({ createdAt: T0 + 2 * DAY_MS + 1, modelId: "spm", temperature: -1, authorId: BOB });
    const unnamed = await save({ createdAt: T0 + 2 * DAY_MS + 2, temperature: 0.5 }); // before models were recorded
    await vote(tinyOld, 2, T0 + 10);
    await vote(spm, 1, T0 + 2 * DAY_MS + 10);
    const now = T0 + 2 * DAY_MS + 100;
    const board = (modelId: string, by: "votes" | "weirdness" = "votes", at = now) =>
      store.weirdest(GUILD, { period: "all", by, modelId, now: at }).then(ids);
    expect(await board("tiny")).toEqual([tinyOld.id, tinyNew.id]);
    expect(await board("tiny", "weirdness")).toEqual([tinyOld.id, tinyNew.id]);
    expect(await board("spm")).toEqual([spm.id]);
    expect(await board("nope")).toEqual([]);
    expect(ids(await store.weirdest(GUILD, { period: "all", by: "votes", now }))).toEqual([
      tinyOld.id,
      spm.id,
      tinyNew.id,
      unnamed.id,
    ]);
    expect((await store.models(GUILD)).sort()).toEqual(["spm", "tiny"]);
    expect(await store.stats(GUILD, now, "tiny")).toMatchObject({
      outputs: 2,
      votes: 2,
      players: 3, // the author and two voters
      coldest: -2,
      hottest: 1,
      belowZero: 1,
      aboveZero: 1,
      mostVoted: { outputId: tinyOld.id, votes: 2 },
    });
    expect(await store.stats(GUILD, now, "spm")).toMatchObject({ outputs: 1, votes: 1, players: 2 });
    expect(await store.stats(GUILD, now)).toMatchObject({ outputs: 4, votes: 3 });

    // A vote moves the output on its model's board too; taking it back moves it back.
    await outputs.toggleVote(tinyNew.id, "830000000000000001", { selfVotes: false, now });
    await outputs.toggleVote(tinyNew.id, "830000000000000002", { selfVotes: false, now });
    await outputs.toggleVote(tinyNew.id, "830000000000000003", { selfVotes: false, now });
    expect(await board("tiny")).toEqual([tinyNew.id, tinyOld.id]);
    expect(await store.stats(GUILD, now, "tiny")).toMatchObject({ votes: 5 });
    await outputs.toggleVote(tinyNew.id, "830000000000000003", { selfVotes: false, now });
    await outputs.toggleVote(tinyNew.id, "830000000000000002", { selfVotes: false, now });
    expect(await board("tiny")).toEqual([tinyOld.id, tinyNew.id]);

    // Past the retention the oldest leaves its model's board and stats; a model with nothing left is forgotten.
    const later = T0 + 3 * DAY_MS + 1;
    expect(await board("tiny", "votes", later)).toEqual([tinyNew.id]);
    expect(await store.stats(GUILD, later, "tiny")).toMatchObject({ outputs: 1, votes: 1, coldest: 1 });
    const last = T0 + 5 * DAY_MS + 10;
    expect(await board("spm", "votes", last)).toEqual([]);
    expect(await store.models(GUILD)).toEqual([]);
    expect(await store.stats(GUILD, last, "tiny")).toMatchObject({ outputs: 0, votes: 0, players: 0 });
    const keys = new RedisKeys(prefix);
    for (const key of [
      keys.modelTemps(GUILD, "tiny"),
      keys.modelPlayers(GUILD, "spm"),
      keys.modelBoard(GUILD, "tiny", "all", "votes"),
    ])
      expect(await redis.exists(key)).toBe(0);
    expect(await redis.hkeys(keys.totals(GUILD))).not.toContain("votes@tiny");
  });

  it("keep their periods: a model's day board is its outputs of the last 24 hours", async () => {
    const old = await output({ createdAt: T0, modelId: "tiny" });
    const fresh = await output({ createdAt: T0 + 2 * DAY_MS, modelId: "tiny" });
    await output({ createdAt: T0 + 2 * DAY_MS, modelId: "spm" });
    const now = T0 + 2 * DAY_MS + 10;
    expect(ids(await community.weirdest(GUILD, { period: "day", by: "votes", modelId: "tiny", now }))).toEqual([
      fresh.id,
    ]);
    expect(ids(await community.weirdest(GUILD, { period: "week", by: "votes", modelId: "tiny", now }))).toEqual([
      fresh.id, // tied on votes: the newer first
      old.id,
    ]);
  });
});

describe("hall of fame claims", () => {
  it("are won once, only with enough votes, and can be taken over when never recorded", async () => {
    const record = await output({ createdAt: T0 });
    const claim = { threshold: 2, channelId: "900000000000000004", nonce: "n1", now: T0 };
    expect(await community.claimHall(record, claim)).toBe(false);
    await vote(record, 2, T0);
    const results = await Promise.all(Array.from({ length: 10 }, () => community.claimHall(record, claim)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await community.staleHallClaims(1000, T0 + 500)).toEqual([]);
    expect(await community.staleHallClaims(1000, T0 + 2000)).toEqual([record.id]);
    expect(await community.reclaimHall(record.id, 1000, T0 + 2000)).toBe(true);
    expect(await community.reclaimHall(record.id, 1000, T0 + 2000)).toBe(false);
    await community.recordHallPost(record.id, "555");
    expect(await community.hallEntry(record.id)).toMatchObject({ state: "posted", messageId: "555", nonce: "n1" });
    expect(await community.staleHallClaims(0, T0 + 9999)).toEqual([]);
    expect(await community.claimHall(record, claim)).toBe(false);
  });
});

describe("a member's own list (/weird-mine)", () => {
  it("holds their outputs from every server and DM, newest first, for the retention and no longer", async () => {
    const old = await output({ createdAt: T0 - 89 * DAY_MS });
    const inDm = await output({ createdAt: T0 - DAY_MS, guildId: null });
    const recent = await output({ createdAt: T0 });
    await output({ createdAt: T0, authorId: BOB });
    const mine = await outputs.mine(ALICE, 0, 10, T0);
    expect(mine.total).toBe(3);
    expect(mine.page.map(e => e.output.id)).toEqual([recent.id, inDm.id, old.id]);
    // Saved again (its message id filled in): still one entry.
    await outputs.save({ ...recent, messageId: "7000000000000009999" }, T0);
    expect((await outputs.mine(ALICE, 0, 10, T0)).total).toBe(3);
    // Two days on, the oldest is past the retention and leaves the list; the list itself
    // expires with its newest output.
    expect((await outputs.mine(ALICE, 0, 10, T0 + 2 * DAY_MS)).page.map(e => e.output.id)).toEqual([
      recent.id,
      inDm.id,
    ]);
    const expiresAt = await redis.call("PEXPIRETIME", new RedisKeys(prefix).memberOutputs(ALICE));
    expect(Number(expiresAt)).toBeGreaterThanOrEqual(T0 + 90 * DAY_MS - 1000);
    expect(Number(expiresAt)).toBeLessThanOrEqual(T0 + 90 * DAY_MS + 1000);
  });

  it(`keeps the newest ${MEMBER_OUTPUTS_KEPT}`, async () => {
    for (let i = 0; i <= MEMBER_OUTPUTS_KEPT; i++) await output({ createdAt: T0 - (MEMBER_OUTPUTS_KEPT - i) * 1000 });
    const mine = await outputs.mine(ALICE, MEMBER_OUTPUTS_KEPT - 1, 5, T0);
    expect(mine.total).toBe(MEMBER_OUTPUTS_KEPT);
    // The very first was the one let go: the last kept is the second made.
    expect(mine.page.map(e => e.output.createdAt)).toEqual([T0 - (MEMBER_OUTPUTS_KEPT - 1) * 1000]);
  });
});
