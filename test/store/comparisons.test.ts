// A comparison's part states against real Redis: writers that arrive late (a worker's
// "running" after the part failed for good, a lost worker's "failed" after the result) change
// nothing, and each change bumps the version the message's editor compares.
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ComparisonStore } from "../../src/store/comparisons.js";
import { deleteKeys, REDIS_URL, testPrefix } from "../helpers/discordBot.js";

let redis: Redis;
let prefix: string;
let store: ComparisonStore;

beforeEach(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix();
  store = new ComparisonStore(redis, prefix);
  await store.create("c1", { prompt: "Once", maxTokens: 8, seed: 1 }, [
    { label: "tiny", temperature: -1, outputId: "c1-0" },
    { label: "spm", temperature: -1, outputId: "c1-1" },
  ]);
});
afterEach(async () => {
  redis.disconnect();
  await deleteKeys(prefix);
});

const states = async () => (await store.get("c1"))!.states;

describe("ComparisonStore.mark", () => {
  it("moves a part from waiting to running to done, a version each", async () => {
    expect(await states()).toEqual([{ state: "waiting" }, { state: "waiting" }]);
    expect(await store.mark("c1", 0, { state: "running" })).toBe(true);
    expect(await store.mark("c1", 0, { state: "done" })).toBe(true);
    expect(await states()).toEqual([{ state: "done" }, { state: "waiting" }]);
    expect(await store.version("c1")).toBe(2);
  });

  it("keeps a done part done, and a failed part from a late running", async () => {
    await store.mark("c1", 0, { state: "done" });
    expect(await store.mark("c1", 0, { state: "failed", reason: "lost" })).toBe(false);
    expect(await store.mark("c1", 0, { state: "running" })).toBe(false);
    await store.mark("c1", 1, { state: "failed", reason: "failed: out of memory" });
    expect(await store.mark("c1", 1, { state: "running" })).toBe(false);
    expect(await states()).toEqual([{ state: "done" }, { state: "failed", reason: "failed: out of memory" }]);
    expect(await store.version("c1")).toBe(2);
    // A result that arrives after all (a retry that succeeded) still shows.
    expect(await store.mark("c1", 1, { state: "done" })).toBe(true);
  });

  it("changes nothing once the comparison is gone", async () => {
    await redis.del(`${prefix}:compare:c1`);
    expect(await store.mark("c1", 0, { state: "running" })).toBe(false);
    expect(await redis.exists(`${prefix}:compare:c1`)).toBe(0);
  });
});
