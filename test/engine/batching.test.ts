// Batched generation on a large vocabulary: concurrent requests of both signs share one
// context per sign (8 sequences each; one context for both on the sampler route) and still
// give exactly what they give one by one.
import { join } from "node:path";
import type { Token } from "node-llama-cpp";
import { expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { temporaryFolder } from "../helpers/engine.js";
import { describeRoutes } from "../helpers/routes.js";
import { writeSyntheticModel } from "../helpers/syntheticModel.js";

describeRoutes("batched generations through the %s route", ["sampler", "adapter", "copy"], route => {
  it("8 concurrent mixed-sign requests on a 32000-token vocabulary equal one-by-one runs, token for token", async () => {
    const model = join(temporaryFolder(), "synthetic.gguf");
    await writeSyntheticModel(model, { vocabularySize: 32000, embeddingLength: 64 });
    const engine = await Engine.load({
      model,
      cacheDir: temporaryFolder(),
      gpu: false,
      threads: 1,
      contextSize: 128,
      concurrency: 8,
      negation: { route },
    });
    try {
      const requests = [1, -1, -0.001, 0.5, -0.5, 0, 2, -2].map((temperature, i) => ({
        prompt: i % 3 ? "a b" : "c d e",
        temperature,
        maxTokens: 24,
        seed: 7 + i,
      }));
      const sequential: Token[][] = [];
      for (const request of requests) sequential.push((await engine.generate(request, { score: false })).tokens);
      const concurrent = await Promise.all(requests.map(request => engine.generate(request, { score: false })));
      expect(concurrent.map(r => r.tokens)).toEqual(sequential);
    } finally {
      await engine.dispose();
    }
  });
});
