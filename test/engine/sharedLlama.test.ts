// Engines sharing one Llama (a worker serving several models, src/worker/main.ts) generate
// what an engine on its own generates, token for token, both signs, single and batched; and
// disposing one leaves the others working.
import type { Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, openLlama, type EngineOptions } from "../../src/engine/engine.js";
import { temporaryFolder, testModelPath } from "../helpers/engine.js";
import { realVocabularyModel } from "../helpers/realVocabulary.js";

const options = (model: string): EngineOptions => ({
  model,
  cacheDir: temporaryFolder(),
  gpu: false,
  threads: 1,
  contextSize: 256,
  concurrency: 4,
});

const requests = [-1, 1, -0.5, 0.5].map((temperature, i) => ({
  prompt: "Once upon a time",
  temperature,
  maxTokens: 24,
  seed: 40 + i,
}));

async function tokens(engine: Engine, together: boolean) {
  const results = together
    ? await Promise.all(requests.map(request => engine.generate(request, { score: false })))
    : await requests.reduce(
        async (done, request) => [...(await done), await engine.generate(request, { score: false })],
        Promise.resolve([] as Awaited<ReturnType<Engine["generate"]>>[]),
      );
  return results.map(result => result.tokens);
}

describe("engines on one shared Llama", () => {
  let llama: Llama;
  let spmPath: string;
  beforeAll(async () => {
    llama = await openLlama(false);
    spmPath = await realVocabularyModel("llama-spm");
  }, 120_000);
  afterAll(async () => {
    await llama?.dispose();
  });

  it.each([
    ["stories260K", () => testModelPath()],
    ["LLaMA 2's vocabulary", () => spmPath],
  ])(
    "%s: the same tokens as on its own, single and batched",
    async (_name, path) => {
      const alone = await Engine.load(options(path()));
      const expected = await tokens(alone, false);
      await alone.dispose();
      // Beside another model on the same Llama, as a worker with MODELS loads them.
      const other = await Engine.load(options(path() === spmPath ? testModelPath() : spmPath), llama);
      const shared = await Engine.load(options(path()), llama);
      try {
        expect(shared.negation.route).toBe(other.negation.route);
        expect(await tokens(shared, false)).toEqual(expected);
        expect(await tokens(shared, true)).toEqual(await tokens(shared, false));
      } finally {
        await shared.dispose();
      }
      // Its disposal left the Llama to the other engine.
      expect(llama.disposed).toBe(false);
      expect((await other.generate(requests[0]!, { score: false })).tokens.length).toBeGreaterThan(0);
      await other.dispose();
    },
    120_000,
  );
});
