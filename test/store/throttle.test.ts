// Queue places against real Redis: several jobs' places are taken all together or not at all.
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Throttle } from "../../src/store/throttle.js";
import { deleteKeys, REDIS_URL, testPrefix } from "../helpers/discordBot.js";

let redis: Redis;
let prefix: string;
let throttle: Throttle;

beforeEach(() => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix();
  throttle = new Throttle(redis, prefix);
});
afterEach(async () => {
  redis.disconnect();
  await deleteKeys(prefix);
});

describe("Throttle.claimPlaces", () => {
  it("takes every job's place or none, against the server's cap and the global one", async () => {
    const caps = { maxPerGuild: 3, maxTotal: 4 };
    expect(await throttle.claimPlaces("g1", "u", ["a"], caps)).toEqual({ ok: true, count: 1 });
    // Two more fit the server's cap of 3; three would not, and take nothing.
    expect(await throttle.claimPlaces("g1", "u", ["b", "c", "d"], caps)).toEqual({
      ok: false,
      full: "server",
      count: 1,
    });
    expect(await redis.zcard(`${prefix}:pending-all`)).toBe(1);
    expect(await throttle.claimPlaces("g1", "u", ["b", "c"], caps)).toEqual({ ok: true, count: 2 });
    // Another server has room of its own, but not the whole queue: 3 + 2 > 4.
    expect(await throttle.claimPlaces("g2", "u", ["e", "f"], caps)).toEqual({
      ok: false,
      full: "everything",
      count: 3,
    });
    expect(await redis.zcard(`${prefix}:pending-all`)).toBe(3);
    // Each place taken together is freed on its own.
    await throttle.freePlace("b");
    expect(await throttle.claimPlaces("g1", "u", ["g"], caps)).toEqual({ ok: true, count: 3 });
  });
});
