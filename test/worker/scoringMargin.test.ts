// A job with a deadline stops generating early enough for its weirdness scoring to finish by
// the time generation must stop: from the engine's measured scoring speed (real engine).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { scoringWouldMiss } from "../../src/worker/worker.js";
import { loadTestEngine } from "../helpers/engine.js";

describe("scoringWouldMiss", () => {
  it("stops once scoring the tokens so far at the measured speed would reach the stop time", () => {
    const now = 1_000_000;
    const stopBy = now + 10_000;
    // 8192 tokens at 1000 tok/s take 8.192 s: room left. At 800 tok/s, 10.24 s: stop now.
    expect(scoringWouldMiss(stopBy, 8192, 1000, now)).toBe(false);
    expect(scoringWouldMiss(stopBy, 8192, 800, now)).toBe(true);
    expect(scoringWouldMiss(stopBy, 10_000, 1000, now)).toBe(true);
    // Before the engine has scored anything, only the fixed margin applies.
    expect(scoringWouldMiss(stopBy, 1_000_000, undefined, now)).toBe(false);
  });
});

describe("the engine's scoring speed", () => {
  let engine: Engine;
  beforeAll(async () => {
    // node-llama-cpp's loop scores in a pass after the text; native steps score in the steps.
    engine = await loadTestEngine({ nativeSteps: false });
  });
  afterAll(async () => {
    await engine.dispose();
  });

  it("is measured by each scored generation, and unknown before", async () => {
    expect(engine.scoringTokensPerSecond).toBeUndefined();
    await engine.generate({ prompt: "Once upon a time", temperature: -1, maxTokens: 64, seed: 1 });
    expect(engine.scoringTokensPerSecond).toBeGreaterThan(0);
    expect(Number.isFinite(engine.scoringTokensPerSecond)).toBe(true);
  });

  it("stays unknown with native steps, which need no scoring pass (so no margin is kept for one)", async context => {
    const native = await loadTestEngine({ nativeSteps: true });
    try {
      if (!native.nativeSteps) context.skip("the prebuilt backend has no native steps");
      const result = await native.generate({ prompt: "Once upon a time", temperature: -1, maxTokens: 64, seed: 1 });
      expect(result.surprisal).toBeGreaterThan(0);
      expect(native.scoringTokensPerSecond).toBeUndefined();
    } finally {
      await native.dispose();
    }
  });
});
