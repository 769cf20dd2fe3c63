// The model registry against real Redis, with an injected clock (and on Redis's own, across
// machines whose clocks differ): heartbeats, expiry, clean removal, a worker restarting under
// the same id, and routing a request to a queue.
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { QUEUE_NAME, modelQueueName } from "../../src/store/keys.js";
import { HEARTBEAT_TTL_MS, ModelRegistry, modelIdOf, routeRequest, type WorkerEntry } from "../../src/store/models.js";
import { deleteKeys, REDIS_URL, testPrefix } from "../helpers/discordBot.js";

let redis: Redis;
let prefix: string;
let now: number;
let registry: ModelRegistry;

beforeEach(() => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix();
  now = 1_700_000_000_000;
  registry = new ModelRegistry(redis, prefix, () => now);
});
afterEach(async () => {
  redis.disconnect();
  await deleteKeys(prefix);
});

function worker(workerId: string, id: string, alias = true): Omit<WorkerEntry, "seenAt" | "expiresAt"> {
  return {
    workerId,
    id,
    queue: modelQueueName(alias ? id : undefined),
    file: `${id}.gguf`,
    sizeBytes: 1000,
    type: "llama 260K F32",
    vocabularySize: 512,
    contextSize: 512,
    tokensPerSecond: null,
  };
}

describe("ModelRegistry", () => {
  it("lists each model with its live workers, and drops a silent worker after the TTL", async () => {
    await registry.heartbeat(worker("w1", "tiny"));
    await registry.heartbeat(worker("w2", "tiny"));
    await registry.heartbeat(worker("w3", "big"));
    let models = await registry.models();
    expect(models.map(m => [m.id, m.queue, m.live.length])).toEqual([
      ["big", "weird-big", 1],
      ["tiny", "weird-tiny", 2],
    ]);

    now += HEARTBEAT_TTL_MS - 1000;
    await registry.heartbeat(worker("w1", "tiny")); // w1 keeps beating; w2 and w3 went silent
    now += 2000;
    models = await registry.models();
    expect(models.find(m => m.id === "tiny")!.live.map(w => w.workerId)).toEqual(["w1"]);
    // A model whose last worker died is still known, with when it was last alive.
    const big = models.find(m => m.id === "big")!;
    expect(big.live).toEqual([]);
    expect(big.lastSeenAt).toBe(now - 2000 - (HEARTBEAT_TTL_MS - 1000));
  });

  it("removes a worker at once on a clean shutdown, and takes it back when it restarts", async () => {
    await registry.heartbeat(worker("w1", "tiny"));
    await registry.remove("w1");
    expect((await registry.models())[0]!.live).toEqual([]);
    now += 1000;
    await registry.heartbeat({ ...worker("w1-restarted", "tiny"), tokensPerSecond: 42 });
    const [tiny] = await registry.models();
    expect(tiny!.live.map(w => [w.workerId, w.tokensPerSecond])).toEqual([["w1-restarted", 42]]);
  });

  it("forgets workers dead for a day", async () => {
    await registry.heartbeat(worker("old", "gone"));
    now += 25 * 3600 * 1000;
    await registry.heartbeat(worker("w1", "tiny"));
    expect(await redis.hkeys(`${prefix}:workers`)).toEqual(["w1"]);
  });
});

describe("modelIdOf", () => {
  it("takes the GGUF's name, else the file name, fit to be typed", () => {
    expect(modelIdOf("Llama 2 7B (chat)", "x.gguf")).toBe("Llama-2-7B-chat-");
    expect(modelIdOf(undefined, "stories260K.gguf")).toBe("stories260K");
    expect(modelIdOf("  ", "--weird model.GGUF")).toBe("weird-model");
  });
});

describe("routeRequest", () => {
  it("routes a named model to its queue, and refuses an unknown or dead one with the live list", async () => {
    await registry.heartbeat(worker("w1", "tiny"));
    await registry.heartbeat(worker("w2", "big"));
    now += HEARTBEAT_TTL_MS + 1;
    await registry.heartbeat(worker("w1", "tiny"));
    const models = await registry.models();
    expect(routeRequest(models, "tiny")).toEqual({ queue: "weird-tiny", model: "tiny" });
    expect(routeRequest(models, "nope")).toEqual({
      refusal: 'There is no model called "nope" (live models: tiny).',
    });
    expect(routeRequest(models, "big")).toMatchObject({
      refusal: expect.stringMatching(/^big has no worker/),
    });
    // The server's default stands in for a model left out; a member's choice overrides it.
    expect(routeRequest(models, undefined, { default: "tiny", allowed: [] })).toEqual({
      queue: "weird-tiny",
      model: "tiny",
    });
    expect(routeRequest(models, "tiny", { default: "big", allowed: [] })).toEqual({
      queue: "weird-tiny",
      model: "tiny",
    });
    expect(routeRequest(models, "tiny", { default: null, allowed: ["big"] })).toMatchObject({
      refusal: expect.stringMatching(/only/),
    });
  });

  it("sends a request naming none to the shared queue, else the first live model, else the shared queue to wait", async () => {
    expect(routeRequest([])).toEqual({ queue: QUEUE_NAME });
    await registry.heartbeat(worker("w2", "zeta"));
    await registry.heartbeat(worker("w3", "alpha"));
    expect(routeRequest(await registry.models())).toEqual({
      queue: "weird-alpha",
      model: "alpha",
    });
    expect(routeRequest(await registry.models(), undefined, { default: null, allowed: ["zeta"] })).toEqual({
      queue: "weird-zeta",
      model: "zeta",
    });
    await registry.heartbeat(worker("w1", "stories", false));
    expect(routeRequest(await registry.models())).toEqual({ queue: QUEUE_NAME });
  });
});

describe("ModelRegistry on its own clock, Redis's", () => {
  /** A registry in a process whose clock is `skewMs` off (its Date.now, read once, stays there). */
  function onSkewedMachine(skewMs: number): ModelRegistry {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + skewMs);
    try {
      return new ModelRegistry(redis, prefix);
    } finally {
      vi.useRealTimers();
    }
  }

  it("sees a worker alive whose machine's clock is 10 s behind the bot's, and dead once it stops", async () => {
    const behind = onSkewedMachine(-10_000);
    const ahead = onSkewedMachine(3600_000);
    const bot = new ModelRegistry(redis, prefix);
    await behind.heartbeat(worker("w1", "tiny"));
    const [tiny] = await bot.models();
    expect(tiny!.live.map(w => w.workerId)).toEqual(["w1"]);
    expect(Math.abs(tiny!.lastSeenAt - Date.now())).toBeLessThan(2000);

    // A worker an hour ahead is not alive for an hour after it stopped.
    await ahead.heartbeat(worker("w2", "big"));
    await ahead.remove("w2");
    const big = (await bot.models()).find(m => m.id === "big")!;
    expect(big.live).toEqual([]);
  });
});
