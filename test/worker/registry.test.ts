// A real worker on the test model registers what it serves and leaves the registry when it
// stops; with MODEL_ID it serves that id from a queue of its own.
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { ModelRegistry } from "../../src/store/models.js";
import { startHeartbeat } from "../../src/worker/registry.js";
import { deleteKeys, REDIS_URL, startWorker, testPrefix } from "../helpers/discordBot.js";
import { loadTestEngine } from "../helpers/engine.js";

let engine: Engine;
let redis: Redis;
const prefixes: string[] = [];
beforeAll(async () => {
  engine = await loadTestEngine();
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await engine.dispose();
  redis.disconnect();
});
afterEach(async () => {
  for (const prefix of prefixes.splice(0)) await deleteKeys(prefix);
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 100 && !done(value); i++) {
    await new Promise(resolve => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

describe("the worker's registry entry", () => {
  it("says what the model is, on the shared queue, and is gone as soon as the worker stops", async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const registry = new ModelRegistry(redis, prefix);
    const worker = startWorker(engine, "http://127.0.0.1:9", prefix);
    const models = await until(
      () => registry.models(),
      m => m.length > 0,
    );
    expect(models).toHaveLength(1);
    const [model] = models;
    expect(model!.queue).toBe("weird");
    expect(model!.info).toMatchObject({
      file: "stories260K.gguf",
      vocabularySize: 512,
      contextSize: 512,
      sizeBytes: engine.model.size,
    });
    expect(model!.info.type).toMatch(/llama/);
    expect(model!.live).toHaveLength(1);
    await worker.close();
    const [after] = await registry.models();
    expect(after!.live).toEqual([]);
    expect(after!.id).toBe(model!.id);
  });

  it("serves MODEL_ID from its own queue", async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const registry = new ModelRegistry(redis, prefix);
    const worker = startWorker(engine, "http://127.0.0.1:9", prefix, { modelId: "tiny" });
    const [model] = await until(
      () => registry.models(),
      m => m.length > 0,
    );
    expect(model).toMatchObject({ id: "tiny", queue: "weird-tiny" });
    expect(worker.worker.name).toBe("weird-tiny");
    await worker.close();
  });

  it("is not brought back by a beat still on its way when the worker stops", async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const registry = new ModelRegistry(redis, prefix);
    for (let i = 0; i < 5; i++) {
      const heartbeat = startHeartbeat(registry, engine, `tiny${i}`, 1, (error: Error) => {
        throw error;
      });
      const beating = heartbeat.beat(); // the first beat, as a worker starts, and a stop right after
      await heartbeat.stop();
      await beating;
    }
    const models = await registry.models();
    expect(models.map(m => [m.id, m.live.length])).toEqual([0, 1, 2, 3, 4].map(i => [`tiny${i}`, 0]));
  });
});
